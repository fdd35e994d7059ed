/** Shared by the Redis tests: whether a redis-server exists, and a fresh data directory. */
import { accessSync, constants } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const hasRedisServer = (process.env.PATH ?? '').split(delimiter).some((dir) => {
  try {
    accessSync(join(dir, 'redis-server'), constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** `false` to run, or the reason to skip (node:test prints it). */
export const skipWithoutRedis = hasRedisServer
  ? false
  : 'redis-server is not on PATH (apt-get install redis-server)';

export const dataDir = () => mkdtemp(join(tmpdir(), 'rdlab-redis-'));
