/**
 * An artifact store in a local directory: one file per key, the bytes as written (researchers
 * read shards straight from it). A put writes a temporary file, flushes it to disk, checks its
 * size and only then renames it over the key, so a reader never sees a partial object, not even
 * after a crash or a full disk (then the temporary file is removed and `RDLAB_DISK_FULL` names the
 * folder and the key). No checksums are kept beside the files: the file system is trusted here.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { freeBytes } from './disk-space.js';
import { DiskFullError, isNoSpace } from './errors.js';
import { ArtifactNotFoundError, type ArtifactStore, checkKey } from './store.js';

export class LocalDirectoryStore implements ArtifactStore {
  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async exists(key: string): Promise<boolean> {
    return (await stat(this.path(key)).catch(() => null))?.isFile() ?? false;
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ArtifactNotFoundError(key, this.root);
      throw error;
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(key);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      const file = await open(tmp, 'wx');
      try {
        await file.writeFile(bytes);
        // On disk before the name points at it: a crash leaves the old object, not a hole.
        await file.sync();
        const { size } = await file.stat();
        if (size !== bytes.byteLength)
          throw new Error(
            `wrote ${size} of ${bytes.byteLength} bytes of artifact ${key} to ${tmp}`,
          );
      } finally {
        await file.close();
      }
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      if (isNoSpace(error))
        throw new DiskFullError(this.root, `artifact ${key}`, await freeBytes(this.root));
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (!e.name.endsWith('.tmp')) out.push(relative(this.root, p).split(sep).join('/'));
      }
    };
    await walk(this.root);
    return out.filter((k) => k.startsWith(prefix)).sort();
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }
}
