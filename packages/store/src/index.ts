/**
 * @rdlab/store: where artifacts live, behind one interface.
 *
 * ```ts
 * import { LocalDirectoryStore, putJson, maybeJson } from '@rdlab/store';
 *
 * const store = new LocalDirectoryStore('.rdlab/artifacts');
 * await putJson(store, 'cells/c0123/latest.json', { epoch: 2 });
 * console.log(await maybeJson(store, 'cells/c0123/latest.json'));
 * ```
 */
export { sha256Hex } from './checksum.js';
export { DIRECTORY_MARKER, directoryComplete, getDirectory, putDirectory } from './directories.js';
export { freeBytes } from './disk-space.js';
export type { StoreErrorCode } from './errors.js';
export {
  ArtifactCorruptError,
  DiskFullError,
  isNoSpace,
  STORE_ERROR_CODES,
  StoreOptionsError,
} from './errors.js';
export { LocalDirectoryStore } from './local-store.js';
export { openStore } from './open-store.js';
export {
  createS3Client,
  S3_STORE_DEFAULTS,
  type S3StoreOptions,
  s3OptionsFromEnv,
  s3StoreOptions,
} from './s3-client.js';
export {
  backoffStepMs,
  type RetryCounts,
  type RetryPolicy,
  retriesWindowMs,
  StoreRetryStrategy,
} from './s3-retry.js';
export {
  META_BYTES,
  META_SHA256,
  PART_BYTES,
  S3ArtifactStore,
  type S3ArtifactStoreOptions,
  type S3ReadCounts,
} from './s3-store.js';
export {
  ArtifactNotFoundError,
  type ArtifactStore,
  checkKey,
  getJson,
  InvalidKeyError,
  maybeJson,
  putJson,
} from './store.js';
