/**
 * Errors of the store package, with stable codes. Every code is in {@link STORE_ERROR_CODES} and
 * documented in the README (a test holds them to it). Messages of the errors a job can die of
 * start with their code: a stage job's recorded error is its message.
 */

export const STORE_ERROR_CODES = [
  'RDLAB_STORE_NOT_FOUND',
  'RDLAB_STORE_INVALID_KEY',
  'RDLAB_STORE_CORRUPT',
  'RDLAB_STORE_OPTIONS_INVALID',
  'RDLAB_DISK_FULL',
] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

export class ArtifactNotFoundError extends Error {
  readonly code = 'RDLAB_STORE_NOT_FOUND';
  constructor(
    readonly key: string,
    location: string,
  ) {
    super(`artifact ${key} is not in ${location}`);
    this.name = 'ArtifactNotFoundError';
  }
}

export class InvalidKeyError extends Error {
  readonly code = 'RDLAB_STORE_INVALID_KEY';
  constructor(key: string) {
    super(
      `artifact key '${key}' is not allowed: use relative paths of [A-Za-z0-9._-] segments without '..'`,
    );
    this.name = 'InvalidKeyError';
  }
}

/**
 * The bytes read for a key are not the bytes written: shorter or longer than recorded, or
 * another SHA-256. Thrown only after re-reading (a cut transfer heals on the next read), so the
 * stored object itself is damaged: delete it and recompute it (keys are content addresses).
 */
export class ArtifactCorruptError extends Error {
  readonly code = 'RDLAB_STORE_CORRUPT';
  constructor(
    readonly key: string,
    location: string,
    readonly problem: string,
    reads: number,
  ) {
    super(
      `RDLAB_STORE_CORRUPT: artifact ${key} in ${location} is damaged (${problem}, on each of ${reads} reads): delete it so the job that writes it runs again`,
    );
    this.name = 'ArtifactCorruptError';
  }
}

/** An option of the S3 store (or its environment variable) is out of range. */
export class StoreOptionsError extends Error {
  readonly code = 'RDLAB_STORE_OPTIONS_INVALID';
  constructor(
    readonly field: string,
    allowed: string,
    value: unknown,
  ) {
    super(`${field} must be ${allowed}, got '${String(value)}'`);
    this.name = 'StoreOptionsError';
  }
}

/**
 * A local disk is full (ENOSPC, or EDQUOT: a quota): nothing was left behind under the name being
 * written. `path` is the folder whose disk is full, `writing` what was being written.
 */
export class DiskFullError extends Error {
  readonly code = 'RDLAB_DISK_FULL';
  constructor(
    readonly path: string,
    readonly writing: string,
    /** Bytes free on that disk when the write failed, when known. */
    readonly freeBytes: number | null = null,
    hint = 'free space there or give it a larger disk',
  ) {
    const free = freeBytes === null ? '' : ` (${freeBytes} bytes free)`;
    super(`RDLAB_DISK_FULL: no space left on ${path}${free} writing ${writing}: ${hint}`);
    this.name = 'DiskFullError';
  }
}

/** Whether a file-system error means the disk (or the user's quota on it) is full. */
export function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
