/**
 * The S3 client of the store, with its retries and timeouts set here rather than left to the
 * SDK's defaults (3 tries, no timeouts: a hung connection would hang a job until its lock ran out).
 * Each option has an environment variable, read by {@link s3OptionsFromEnv}:
 *
 *   RDLAB_S3_ENDPOINT             an S3-compatible server (MinIO, s3rver, Ceph); else AWS_ENDPOINT_URL_S3
 *   AWS_REGION                    region (default us-east-1)
 *   RDLAB_S3_MAX_ATTEMPTS         tries per request, the first included (default 6)
 *   RDLAB_S3_RETRY_BASE_MS        backoff step of the first retry, doubled each retry (default 250)
 *   RDLAB_S3_RETRY_MAX_MS         longest backoff step (default 20000)
 *   RDLAB_S3_CONNECT_TIMEOUT_MS   to open a connection (default 5000)
 *   RDLAB_S3_REQUEST_TIMEOUT_MS   from sending a request to the answer's headers, upload included (default 120000)
 *   RDLAB_S3_SOCKET_TIMEOUT_MS    with no byte moving either way, mid-body included (default 30000)
 *   RDLAB_S3_READ_ATTEMPTS        whole reads of one object when a body comes back cut or wrong (default 3)
 */
import { S3Client } from '@aws-sdk/client-s3';
import { StoreOptionsError } from './errors.js';
import { type RetryPolicy, StoreRetryStrategy } from './s3-retry.js';

export interface S3StoreOptions extends RetryPolicy {
  /** An S3-compatible server; unset: AWS. Addressed path-style when set. */
  endpoint: string | null;
  /** @defaultValue 'us-east-1' */
  region: string;
  /** Tries per request, the first included. @defaultValue 6 */
  maxAttempts: number;
  /** Backoff step of the first retry in ms, doubled each retry. @defaultValue 250 */
  baseDelayMs: number;
  /** Longest backoff step in ms. @defaultValue 20000 */
  maxDelayMs: number;
  /** Milliseconds to open a connection. @defaultValue 5000 */
  connectTimeoutMs: number;
  /** Milliseconds from sending a request to the answer's headers. @defaultValue 120000 */
  requestTimeoutMs: number;
  /** Milliseconds with no byte moving on the connection, mid-body included. @defaultValue 30000 */
  socketTimeoutMs: number;
  /** Whole reads of one object before a cut or wrong body is an error. @defaultValue 3 */
  readAttempts: number;
}

export const S3_STORE_DEFAULTS: S3StoreOptions = {
  endpoint: null,
  region: 'us-east-1',
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  connectTimeoutMs: 5000,
  requestTimeoutMs: 120_000,
  socketTimeoutMs: 30_000,
  readAttempts: 3,
};

/** Each numeric option, its variable and its least allowed value. */
const NUMERIC: ReadonlyArray<[keyof S3StoreOptions, string, number]> = [
  ['maxAttempts', 'RDLAB_S3_MAX_ATTEMPTS', 1],
  ['baseDelayMs', 'RDLAB_S3_RETRY_BASE_MS', 0],
  ['maxDelayMs', 'RDLAB_S3_RETRY_MAX_MS', 0],
  ['connectTimeoutMs', 'RDLAB_S3_CONNECT_TIMEOUT_MS', 1],
  ['requestTimeoutMs', 'RDLAB_S3_REQUEST_TIMEOUT_MS', 1],
  ['socketTimeoutMs', 'RDLAB_S3_SOCKET_TIMEOUT_MS', 1],
  ['readAttempts', 'RDLAB_S3_READ_ATTEMPTS', 1],
];

/** Defaults merged with `options`, validated; throws `RDLAB_STORE_OPTIONS_INVALID` naming the field. */
export function s3StoreOptions(options: Partial<S3StoreOptions> = {}): S3StoreOptions {
  const merged: S3StoreOptions = { ...S3_STORE_DEFAULTS, ...options };
  for (const [field, , least] of NUMERIC) {
    const value = merged[field];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < least)
      throw new StoreOptionsError(field, `an integer ≥ ${least}`, value);
  }
  for (const field of Object.keys(options))
    if (!(field in S3_STORE_DEFAULTS))
      throw new StoreOptionsError(
        field,
        `one of ${Object.keys(S3_STORE_DEFAULTS).join(', ')} (an unknown option)`,
        field,
      );
  return merged;
}

/** The options from the environment (see the file's header); unset variables take defaults. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv = process.env): S3StoreOptions {
  const options: Partial<S3StoreOptions> = {};
  const endpoint = env.RDLAB_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3;
  if (endpoint) options.endpoint = endpoint;
  if (env.AWS_REGION) options.region = env.AWS_REGION;
  for (const [field, name, least] of NUMERIC) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value < least)
      throw new StoreOptionsError(name, `an integer ≥ ${least}`, text);
    (options as Record<string, number>)[field] = value;
  }
  return s3StoreOptions(options);
}

/** A client with these retries and timeouts; `retry.counts` tells what it retried. */
export function createS3Client(
  options: S3StoreOptions,
  extra: { credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): { client: S3Client; retry: StoreRetryStrategy } {
  const retry = new StoreRetryStrategy(options);
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
    ...(extra.credentials ? { credentials: extra.credentials } : {}),
    maxAttempts: options.maxAttempts,
    retryStrategy: retry,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Without it the request timeout only logs a warning.
      throwOnRequestTimeout: true,
      socketTimeout: options.socketTimeoutMs,
    },
  });
  return { client, retry };
}
