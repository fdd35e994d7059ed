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

// What "Postgres cannot be reached right now" looks like (the API adds Redis's): Node socket errors, Prisma's
// can't-reach / timed-out / closed / pool-timeout codes, and SQLSTATEs of a connection lost or
// of a server shutting down or starting up (which Prisma 7 wraps as P2039, kind 'postgres').
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P2024',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
]);
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|ECONNREFUSED|Can't reach database server|connect ETIMEDOUT/;

/**
 * Whether `error` (or one of its causes) says Postgres cannot be reached for now: worth
 * retrying later, not a reason to fail a job for good.
 */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 6 || error === null || typeof error !== 'object') return false;
  const e = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    meta?: { driverAdapterError?: { cause?: { kind?: unknown; code?: unknown } } };
  };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const cause = e.meta?.driverAdapterError?.cause;
  if (typeof cause?.kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(cause.kind)) return true;
  if (typeof cause?.code === 'string' && UNAVAILABLE_CODES.has(cause.code)) return true;
  if (e.name === 'PrismaClientInitializationError') return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGE.test(e.message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
