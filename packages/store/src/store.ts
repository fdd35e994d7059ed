/**
 * The artifact store port: objects under immutable, content-addressed keys
 * (`shards/<hash>.arrow`, `cells/<id>/epoch-3/model.safetensors`) plus small mutable pointers
 * (`cells/<id>/latest.json`). Stage functions only see this interface, so the same stage writes
 * to a local directory in `rdlab run --local` and to S3 in a cluster.
 */
import { ArtifactNotFoundError, InvalidKeyError } from './errors.js';

export { ArtifactNotFoundError, InvalidKeyError };

export interface ArtifactStore {
  /** Where the store keeps things, for messages. */
  readonly location: string;
  exists(key: string): Promise<boolean>;
  /** Throws {@link ArtifactNotFoundError} when the key is absent. */
  get(key: string): Promise<Uint8Array>;
  /** Writes atomically: readers see the old object or the whole new one. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** Keys under `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/** Keys are relative POSIX paths of safe segments: no '..', no leading '/', no empty segment. */
export function checkKey(key: string): string {
  const segments = key.split('/');
  if (
    key.length === 0 ||
    key.length > 900 ||
    segments.some((s) => s === '' || s === '.' || s === '..' || !/^[A-Za-z0-9._=-]+$/.test(s))
  ) {
    throw new InvalidKeyError(key);
  }
  return key;
}

export async function getJson<T>(store: ArtifactStore, key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
}

export async function putJson(store: ArtifactStore, key: string, value: unknown): Promise<void> {
  await store.put(key, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

/** The JSON at `key`, or null when absent. */
export async function maybeJson<T>(store: ArtifactStore, key: string): Promise<T | null> {
  try {
    return await getJson<T>(store, key);
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return null;
    throw error;
  }
}
