/**
 * A small disk for disk-full tests: a tmpfs of a few hundred KiB mounted on a fresh folder. Needs
 * root (CI runs as root); where mounting is not permitted, `mountTmpfs` says why instead.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, rmdir } from 'node:fs/promises';

export interface Tmpfs {
  readonly path: string;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages) on `path`; a string when it cannot. */
export async function mountTmpfs(path: string, sizeBytes: number): Promise<Tmpfs | string> {
  await mkdir(path, { recursive: true });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', path], {
    encoding: 'utf8',
  });
  if (mount.error || mount.status !== 0) {
    await rmdir(path).catch(() => {});
    return `cannot mount a tmpfs on ${path} (needs root, as CI has): ${mount.error?.message ?? mount.stderr.trim()}`;
  }
  return {
    path,
    async unmount() {
      // Lazy: a process that still holds a file there (a killed worker's child) cannot block it.
      spawnSync('umount', ['-l', path]);
      await rmdir(path).catch(() => {});
    },
  };
}
