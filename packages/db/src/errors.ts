/** Errors of the db package, with stable codes (documented in the README; a test checks it). */
export const DB_ERROR_CODES = [
  'RDLAB_DB_INVALID_OPTIONS',
  'RDLAB_DB_NOT_FOUND',
  'RDLAB_DB_CONFLICT',
  'RDLAB_DB_MIGRATIONS_MISSING',
  'RDLAB_DB_MIGRATION_CHANGED',
  'RDLAB_DB_MIGRATION_FAILED',
  'RDLAB_DB_METRICS_UNFLUSHED',
  'RDLAB_DB_METRICS_CLOSED',
  'RDLAB_DB_EMBEDDED_START',
] as const;

export type DbErrorCode = (typeof DB_ERROR_CODES)[number];

export class DbError extends Error {
  constructor(
    readonly code: DbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DbError';
  }
}

/** Prisma's "unique constraint failed" (P2002), without importing the runtime for a class check. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002';
}

/** Prisma's "record to update/delete not found" (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2025';
}
