/**
 * Errors of the jobs package, with stable codes. Every code is listed in {@link JOBS_ERROR_CODES}
 * and documented in the README (a test holds them to it).
 */

export const JOBS_ERROR_CODES = [
  'RDLAB_JOB_PAYLOAD_INVALID',
  'RDLAB_JOB_UNKNOWN',
  'RDLAB_JOB_ID_INVALID',
  'RDLAB_LOCK_ENV_INVALID',
  'RDLAB_REDIS_URL_INVALID',
  'RDLAB_REDIS_SERVER_NOT_FOUND',
  'RDLAB_REDIS_SERVER_OPTIONS_INVALID',
  'RDLAB_REDIS_SERVER_START_FAILED',
] as const;

export type JobsErrorCode = (typeof JOBS_ERROR_CODES)[number];

/** One problem with a payload: the dotted path of the field and what is wrong with it. */
export interface PayloadIssue {
  field: string;
  message: string;
}

/**
 * A job payload failed its catalog schema. `field` names the first offending field (dotted path;
 * for unknown keys, the keys themselves); `issues` lists all of them.
 */
export class JobPayloadError extends Error {
  readonly code = 'RDLAB_JOB_PAYLOAD_INVALID';
  readonly field: string;
  constructor(
    readonly jobName: string,
    readonly issues: readonly PayloadIssue[],
  ) {
    const first = issues[0] ?? { field: '(payload)', message: 'invalid' };
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(`job '${jobName}' payload is invalid at '${first.field}': ${first.message}${more}`);
    this.name = 'JobPayloadError';
    this.field = first.field;
  }
}

/** A job name that is not in the catalog; the message lists the valid ones. */
export class UnknownJobError extends Error {
  readonly code = 'RDLAB_JOB_UNKNOWN';
  constructor(
    readonly jobName: string,
    validNames: readonly string[],
  ) {
    super(`unknown job '${jobName}': the catalog has ${validNames.join(', ')}`);
    this.name = 'UnknownJobError';
  }
}

/** A part of a deterministic job id that cannot be used (see `jobId`). */
export class JobIdError extends Error {
  readonly code = 'RDLAB_JOB_ID_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'JobIdError';
  }
}

/** The environment variables read by `lockOptionsFromEnv`. */
export type LockEnvVariable = 'RDLAB_LOCK_DURATION_MS' | 'RDLAB_STALLED_INTERVAL_MS';

/**
 * A lock setting in the environment that is not a positive integer of milliseconds (see
 * `lockOptionsFromEnv`); `variable` names it, the message says what is allowed.
 */
export class LockEnvError extends Error {
  readonly code = 'RDLAB_LOCK_ENV_INVALID';
  constructor(
    readonly variable: LockEnvVariable,
    message: string,
  ) {
    super(message);
    this.name = 'LockEnvError';
  }
}

/** A Redis URL that is not `redis://` or `rediss://`, or is malformed. */
export class RedisUrlError extends Error {
  readonly code = 'RDLAB_REDIS_URL_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/** The embedded redis-server could not be found, configured or started. */
export class RedisServerError extends Error {
  constructor(
    readonly code:
      | 'RDLAB_REDIS_SERVER_NOT_FOUND'
      | 'RDLAB_REDIS_SERVER_OPTIONS_INVALID'
      | 'RDLAB_REDIS_SERVER_START_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'RedisServerError';
  }
}
