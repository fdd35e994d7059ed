/**
 * A real Postgres (embedded), a real redis-server, a local artifact directory and the API over
 * them, for one test file: `const h = await startHarness()` in `before`, `await h.close()` in
 * `after`. Requests go through `app.inject`.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDb,
  type Db,
  type EmbeddedPostgres,
  migrate,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { QUEUES, type RedisServer, redisConnection, startRedisServer } from '@rdlab/jobs';
import { LocalDirectoryStore } from '@rdlab/store';
import { Queue } from 'bullmq';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from '../src/app.js';
import type { ApiOptionsInput } from '../src/options.js';

/** examples/demo.yaml: two attributes × three dropouts = six cells. */
export const DEMO_YAML = await readFile(
  new URL('../../../examples/demo.yaml', import.meta.url),
  'utf8',
);

export interface Harness {
  dir: string;
  pg: EmbeddedPostgres;
  redisServer: RedisServer;
  db: Db;
  repos: Repositories;
  queue: Queue;
  redis: Redis;
  store: LocalDirectoryStore;
  app: FastifyInstance;
  /** A team with a token. */
  team: { id: string; token: string };
  /** Builds another API over the same backends (other options); closed by `close()`. */
  buildApp(options: ApiOptionsInput): FastifyInstance;
  /** Creates a team and a token for it. */
  newTeam(name: string): Promise<{ id: string; token: string; tokenId: string }>;
  /** `app.inject` with the team's token. */
  request(options: InjectOptions, token?: string): Promise<LightMyRequestResponse>;
  /** Restarts redis-server on the same port and data directory (after `redisServer.stop()`). */
  restartRedis(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: ApiOptionsInput = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'rdlab-api-test-'));
  // As root, Postgres runs as `postgres`, which must be able to enter the folder.
  await chmod(dir, 0o755);
  const [pg, redisServer] = await Promise.all([
    startEmbeddedPostgres({ dataDir: join(dir, 'pg') }),
    startRedisServer({ dataDir: join(dir, 'redis') }),
  ]);
  await migrate(pg.url);
  const db = createDb(pg.url);
  const repos = new Repositories(db);
  const connection = redisConnection(redisServer.url, { role: 'producer' });
  const redis = new Redis(connection);
  // A client of ours (see main.ts): disconnected on close even while Redis is down.
  const queueRedis = new Redis(connection);
  const queue = new Queue(QUEUES.stages, { connection: queueRedis });
  await Promise.all([new Promise((ready) => redis.once('ready', ready)), queue.waitUntilReady()]);
  const store = new LocalDirectoryStore(join(dir, 'store'));
  const apps: FastifyInstance[] = [];
  const buildApp = (opts: ApiOptionsInput) => {
    const app = buildApi({ db, repos, queue, redis, store, options: opts });
    apps.push(app);
    return app;
  };
  const app = buildApp(options);
  await app.ready();

  const newTeam = async (name: string) => {
    const created = await repos.teams.createTeam(name);
    const { token, record } = await repos.tokens.createToken(name, `${name}-token`);
    return { id: created.id, token, tokenId: record.id };
  };
  const team = await newTeam('lab');
  let redisNow = redisServer;

  const harness: Harness = {
    dir,
    pg,
    get redisServer() {
      return redisNow;
    },
    db,
    repos,
    queue,
    redis,
    store,
    app,
    team,
    buildApp,
    newTeam,
    request: (opts, token = team.token) =>
      app.inject({
        ...opts,
        headers: { authorization: `Bearer ${token}`, ...(opts.headers ?? {}) },
      }),
    async restartRedis() {
      redisNow = await startRedisServer({
        dataDir: join(dir, 'redis'),
        port: redisServer.port,
      });
    },
    async close() {
      await Promise.allSettled(apps.map((a) => a.close()));
      await queue.close().catch(() => {});
      queueRedis.disconnect();
      redis.disconnect();
      await db.$disconnect();
      await Promise.allSettled([redisNow.stop(), pg.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** The body of a reply as JSON. */
export function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
  return JSON.parse(response.body) as T;
}

/** The `{error}` of an error reply. */
export function errorOf(response: LightMyRequestResponse): {
  code: string;
  message: string;
  details: Record<string, unknown>;
} {
  return json<{ error: { code: string; message: string; details: Record<string, unknown> } }>(
    response,
  ).error;
}
