/**
 * Whole directories (a checkpoint, a tokenizer) to and from a key prefix.
 *
 * A directory is several objects, uploaded one by one, so a worker that dies mid-upload leaves
 * some of them. `putDirectory` writes a marker listing the files last; readers ask
 * {@link directoryComplete} before trusting a prefix, and `getDirectory` refuses one whose marker
 * names a missing file.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ArtifactNotFoundError, type ArtifactStore } from './store.js';

/** The marker's name under a directory's prefix (not a file of the directory). */
export const DIRECTORY_MARKER = '_complete.json';

/** Uploads every file of `dir` (not recursive) under `prefix/`, then the marker. */
export async function putDirectory(
  store: ArtifactStore,
  prefix: string,
  dir: string,
): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name !== DIRECTORY_MARKER)
    .map((e) => e.name)
    .sort();
  for (const name of names)
    await store.put(`${prefix}/${name}`, new Uint8Array(await readFile(join(dir, name))));
  await store.put(`${prefix}/${DIRECTORY_MARKER}`, new TextEncoder().encode(JSON.stringify(names)));
  return names;
}

/** Whether every file of the directory under `prefix/` was uploaded (its marker is there). */
export function directoryComplete(store: ArtifactStore, prefix: string): Promise<boolean> {
  return store.exists(`${prefix}/${DIRECTORY_MARKER}`);
}

/**
 * Downloads the directory under `prefix/` into `dir`; returns the file names. With a marker,
 * exactly the files it lists (a missing one is an {@link ArtifactNotFoundError}); without one
 * (written before markers), every object under the prefix.
 */
export async function getDirectory(
  store: ArtifactStore,
  prefix: string,
  dir: string,
): Promise<string[]> {
  const marker = `${prefix}/${DIRECTORY_MARKER}`;
  const names = (await store.exists(marker))
    ? (JSON.parse(new TextDecoder().decode(await store.get(marker))) as string[])
    : (await store.list(`${prefix}/`))
        .map((key) => key.slice(prefix.length + 1))
        .filter((name) => !name.includes('/'));
  for (const name of names) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    try {
      await writeFile(path, await store.get(`${prefix}/${name}`));
    } catch (error) {
      if (error instanceof ArtifactNotFoundError)
        throw new ArtifactNotFoundError(`${prefix}/${name} (listed in ${marker})`, store.location);
      throw error;
    }
  }
  return names;
}
