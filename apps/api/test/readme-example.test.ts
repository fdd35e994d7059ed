/**
 * The README example, type-checked and run over real backends: buildApi over the harness's
 * embedded Postgres, redis-server and local store (requests through app.inject), then startApi
 * from environment variables pointing at the same backends (requests over HTTP).
 * apps/cli/test/readmes.test.ts keeps the block and this region equal.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { createLogger } from '@rdlab/telemetry';
import { apiConfig, buildApi, startApi } from '../src/main.js';
import { type Harness, json, startHarness } from './harness.js';

let h: Harness;
const saved = { ...process.env };

before(async () => {
  h = await startHarness();
});

after(async () => {
  for (const name of [
    'REDIS_URL',
    'DATABASE_URL',
    'RDLAB_STORE',
    'RDLAB_API_PORT',
    'RDLAB_LOG_LEVEL',
  ])
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  await h?.close();
});

it('builds the API over real backends and starts one from the environment', {
  timeout: 120_000,
}, async () => {
  const { db, repos, queue, redis, store } = h;
  const logger = createLogger({ name: 'rdlab-api', level: 'silent' });
  // What startApi reads: the harness's backends, a free port.
  Object.assign(process.env, {
    REDIS_URL: h.redisServer.url,
    DATABASE_URL: h.pg.url,
    RDLAB_STORE: join(h.dir, 'store'),
    RDLAB_API_PORT: '0',
    RDLAB_LOG_LEVEL: 'silent',
  });

  // biome-ignore format: the README's aligned comments
  // --- README example starts
  // buildApi(deps): a FastifyInstance, not listening (tests call app.inject).
  const app = buildApi({
    db,              // createDb(url) of @rdlab/db
    repos,           // new Repositories(db)
    queue,           // new Queue(QUEUES.stages, { connection: redisConnection(url, { role: 'producer' }) })
    redis,           // new Redis(redisConnection(url, { role: 'producer' })): publish + PING
    store,           // openStore(location) of @rdlab/store
    logger,          // optional: createLogger({ name: 'rdlab-api' }) of @rdlab/telemetry
    options: {       // all optional
      bodyLimitBytes: 1024 * 1024,                    // 413 above
      rateLimit: { max: 600, timeWindowMs: 60_000 },  // per token, on /v1
      maxEventLoopDelayMs: 1000,                      // 503 RDLAB_OVERLOADED above; 0 = off
      sseIntervalMs: 1000,                            // how often /events looks at progress
      webRoot: '/srv/rdlab/web',                      // the built dashboard (default: apps/web/dist)
    },
  });

  // startApi(config): opens Postgres, Redis, the queue and the store, listens, and closes what
  // it opened on close(). apiConfig(env) reads the variables above.
  const api = await startApi(apiConfig(process.env)); // { app, url, close() }
  // --- README example ends

  try {
    const auth = { authorization: `Bearer ${h.team.token}` };
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/readyz' })).statusCode, 200);
    const listed = await app.inject({ url: '/v1/experiments', headers: auth });
    assert.equal(listed.statusCode, 200, listed.body);
    // The body limit of the options: 413 above 1 MiB.
    const big = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: { ...auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ spec: 'x'.repeat(1024 * 1024 + 1) }),
    });
    assert.equal(big.statusCode, 413, big.body);
    // No dashboard at webRoot: `/` says how to build it.
    assert.match(String(json(await app.inject({ url: '/' })).message), /not built/);

    // The started API listens on a free port over the same Postgres and Redis.
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${api.url}/readyz`)).status, 200);
    const over = await fetch(`${api.url}/v1/experiments`, { headers: auth });
    assert.equal(over.status, 200);
    assert.equal((await fetch(`${api.url}/v1/experiments`)).status, 401);
  } finally {
    await app.close();
    await api.close();
  }
});
