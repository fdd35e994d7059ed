/** Free space of local disks, for messages and for a worker deciding whether to take jobs. */
import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged writer may still use on the disk holding `path`; null if unknown. */
export async function freeBytes(path: string): Promise<number | null> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}
