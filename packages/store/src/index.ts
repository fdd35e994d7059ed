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
export { getDirectory, putDirectory } from './directories.js';
export { LocalDirectoryStore } from './local-store.js';
export { openStore } from './open-store.js';
export { PART_BYTES, S3ArtifactStore } from './s3-store.js';
export {
  ArtifactNotFoundError,
  type ArtifactStore,
  checkKey,
  getJson,
  InvalidKeyError,
  maybeJson,
  putJson,
} from './store.js';
