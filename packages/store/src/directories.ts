/** Whole directories (a checkpoint, a tokenizer) to and from a key prefix. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArtifactStore } from './store.js';

/** Uploads every file of `dir` (not recursive) under `prefix/`. */
export async function putDirectory(
  store: ArtifactStore,
  prefix: string,
  dir: string,
): Promise<string[]> {
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort();
  for (const name of names)
    await store.put(`${prefix}/${name}`, new Uint8Array(await readFile(join(dir, name))));
  return names;
}

/** Downloads every object under `prefix/` into `dir`; returns the file names. */
export async function getDirectory(
  store: ArtifactStore,
  prefix: string,
  dir: string,
): Promise<string[]> {
  const keys = await store.list(`${prefix}/`);
  const names: string[] = [];
  for (const key of keys) {
    const name = key.slice(prefix.length + 1);
    if (name.includes('/')) continue;
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await store.get(key));
    names.push(name);
  }
  return names;
}
