/**
 * Test helpers (not exported): where ../shared is, and skipping with a clear message without it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** `../shared/<parts>` beside the repository (or `RDLAB_SHARED`), or null when absent. */
export function sharedPath(...parts: string[]): string | null {
  const base = process.env.RDLAB_SHARED ?? join(repoRoot, '..', 'shared');
  const path = join(base, ...parts);
  return existsSync(path) ? path : null;
}

/** node:test `skip` option: false when present, else the message. */
export function skipWithout(path: string | null, what: string): string | false {
  return path === null
    ? `${what} not found: ../shared is absent beside the repository (set RDLAB_SHARED)`
    : false;
}
