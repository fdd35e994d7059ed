/**
 * Operations: queue depth, workers, probes (readiness follows Redis going away and coming back),
 * Prometheus metrics (checked by promtool when installed), the OpenAPI document, and startApi
 * listening on a real port and closing what it opened.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { QUEUES } from '@rdlab/jobs';
import { apiConfig, startApi } from '../src/main.js';
import { errorOf, type Harness, json, startHarness } from './harness.js';

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('queue, workers, probes, metrics and OpenAPI', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('counts the queue per state and sets the queue-depth gauges', async () => {
    await h.queue.add('train', { n: 1 }, { jobId: 'train~a' });
    await h.queue.add('train', { n: 2 }, { jobId: 'train~b' });
    await h.queue.add('train', { n: 3 }, { jobId: 'train~c', priority: 5 });
    await h.queue.add('evaluate', { n: 4 }, { jobId: 'evaluate~a', delay: 60_000 });
    const response = await h.request({ method: 'GET', url: '/v1/queue' });
    assert.equal(response.statusCode, 200, response.body);
    const depth = json<Record<string, Record<string, number>>>(response)[QUEUES.stages];
    assert.deepEqual(
      { ...depth },
      {
        waiting: 2,
        prioritized: 1,
        delayed: 1,
        active: 0,
        failed: 0,
        completed: 0,
        depth: 4,
      },
    );
    const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /rdlab_queue_depth\{queue="rdlab-stages",state="waiting"\} 2/);
    assert.match(metrics, /rdlab_queue_depth\{queue="rdlab-stages",state="delayed"\} 1/);
    await h.queue.obliterate({ force: true });
  });

  it('lists workers with their heartbeat and whether they are alive (within 30 s)', async () => {
    await h.repos.workers.heartbeat({
      id: 'gpu0-1',
      backend: 'native',
      hostname: 'gpu0',
      currentJob: 'train~c1',
    });
    await h.repos.workers.heartbeat({ id: 'gpu1-1', backend: 'wasm', hostname: 'gpu1' });
    await h.db.worker.update({
      where: { id: 'gpu1-1' },
      data: { lastHeartbeatAt: new Date(Date.now() - 45_000) },
    });
    const response = await h.request({ method: 'GET', url: '/v1/workers' });
    assert.equal(response.statusCode, 200, response.body);
    const { items } = json<{
      items: { id: string; currentJob: string | null; alive: boolean; lastHeartbeatAt: string }[];
    }>(response);
    assert.deepEqual(
      items.map((w) => [w.id, w.currentJob, w.alive]),
      [
        ['gpu0-1', 'train~c1', true],
        ['gpu1-1', null, false],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(items[0]?.lastHeartbeatAt ?? '')));
  });

  it('records request latency by route template, never by URL, and serves valid Prometheus text', async (t) => {
    await h.request({ method: 'GET', url: '/v1/experiments/e0123456789abcdef' });
    await h.app.inject({ method: 'GET', url: '/no/such/route' });
    const response = await h.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const text = response.body;
    assert.match(
      text,
      /rdlab_http_request_duration_seconds_count\{method="GET",route="\/v1\/experiments\/:id",status_code="404"\} 1/,
    );
    assert.match(text, /route="unmatched"/);
    assert.doesNotMatch(text, /e0123456789abcdef|no\/such\/route/);
    assert.match(text, /^process_cpu_user_seconds_total /m);
    if (!promtool) {
      t.skip('promtool is not installed: the exposition format was not linted');
      return;
    }
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(lint.status, 0, `promtool check metrics:\n${lint.stdout}${lint.stderr}`);
  });

  it('describes every route in the OpenAPI document at /docs/json', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(response.statusCode, 200);
    const document = json<{
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; responses: object }>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    }>(response);
    assert.match(document.openapi, /^3\.1/);
    const expected = {
      '/v1/experiments': ['get', 'post'],
      '/v1/experiments/{id}': ['get'],
      '/v1/experiments/{id}/cells': ['get'],
      '/v1/experiments/{id}/events': ['get'],
      '/v1/experiments/{id}/results': ['get'],
      '/v1/experiments/{id}/report': ['get'],
      '/v1/experiments/{id}/cancel': ['post'],
      '/v1/cells/{cellId}/metrics': ['get'],
      '/v1/queue': ['get'],
      '/v1/workers': ['get'],
      '/healthz': ['get'],
      '/readyz': ['get'],
      '/metrics': ['get'],
    };
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(document.paths).map(([path, methods]) => [
          path,
          Object.keys(methods).sort(),
        ]),
      ),
      expected,
    );
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const operation of Object.values(methods)) {
        assert.equal(
          Boolean(operation.security),
          path.startsWith('/v1/'),
          `${path}: security is declared exactly on /v1`,
        );
      }
    }
    assert.ok(document.components.securitySchemes.bearerAuth);
    for (const name of ['ApiError', 'Experiment', 'ExperimentDetail', 'Progress', 'SweepPlan'])
      assert.ok(document.components.schemas[name], `components.schemas.${name}`);
    const ui = await h.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
  });

  it('is live while it serves, and ready only while Postgres and Redis answer', async () => {
    const healthz = await h.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(healthz.statusCode, 200);
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(json(ready), { status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });

    await h.redisServer.stop();
    const notReady = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(notReady.statusCode, 503, notReady.body);
    assert.equal(notReady.headers['retry-after'], '5');
    const error = errorOf(notReady);
    assert.equal(error.code, 'RDLAB_UNAVAILABLE');
    assert.match(error.message, /redis/);
    const checks = error.details.checks as Record<string, string>;
    assert.equal(checks.postgres, 'ok');
    assert.match(checks.redis ?? '', /^failed/);
    // Routes that need Redis answer 503 too, not 500.
    const queue = await h.request({ method: 'GET', url: '/v1/queue' });
    assert.equal(queue.statusCode, 503, queue.body);
    assert.equal(errorOf(queue).code, 'RDLAB_UNAVAILABLE');
    assert.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);

    await h.restartRedis();
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await sleep(100);
      status = (await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode;
    }
    assert.equal(status, 200, 'ready again once Redis is back');
  });

  it('startApi listens on a real port and closes only what it opened', async () => {
    assert.throws(() => apiConfig({}), /REDIS_URL is not set/);
    assert.throws(
      () =>
        apiConfig({
          REDIS_URL: 'redis://x',
          DATABASE_URL: 'postgresql://x',
          RDLAB_STORE: '/tmp/x',
          RDLAB_API_PORT: 'eighty',
        }),
      /RDLAB_API_PORT/,
    );
    const config = apiConfig({
      REDIS_URL: h.redisServer.url,
      DATABASE_URL: h.pg.url,
      RDLAB_STORE: `${h.dir}/store`,
      RDLAB_API_PORT: '0',
      RDLAB_LOG_LEVEL: 'silent',
    });
    assert.equal(config.host, '127.0.0.1');
    const api = await startApi(config);
    try {
      assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const ready = await fetch(`${api.url}/readyz`);
      assert.equal(ready.status, 200);
      const list = await fetch(`${api.url}/v1/experiments`, {
        headers: { authorization: `Bearer ${h.team.token}` },
      });
      assert.equal(list.status, 200);
    } finally {
      await api.close();
    }
    await assert.rejects(fetch(`${api.url}/healthz`));
    // The harness's own connections are untouched.
    assert.equal(await h.redis.ping(), 'PONG');
    assert.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  });

  it('runs as a program: listens, and exits 0 on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: {
        ...process.env,
        REDIS_URL: h.redisServer.url,
        DATABASE_URL: h.pg.url,
        RDLAB_STORE: `${h.dir}/store`,
        RDLAB_API_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      let url: string | undefined;
      for (let i = 0; i < 200 && !url; i++) {
        await sleep(100);
        url = /"url":"(http:[^"]+)"/.exec(output)?.[1];
      }
      assert.ok(url, `no 'listening' line:\n${output}`);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, output);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  // Last: Postgres stays down.
  it('answers 503 RDLAB_UNAVAILABLE (Retry-After: 5) while Postgres is down, and /readyz names it', async () => {
    await h.pg.stop();
    const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    const checks = errorOf(ready).details.checks as Record<string, string>;
    assert.match(checks.postgres ?? '', /^failed: .*reach database server/);
    assert.equal(checks.redis, 'ok');
    const list = await h.request({ method: 'GET', url: '/v1/experiments' });
    assert.equal(list.statusCode, 503, list.body);
    assert.equal(list.headers['retry-after'], '5');
    assert.equal(errorOf(list).code, 'RDLAB_UNAVAILABLE');
    assert.doesNotMatch(list.body, /127\.0\.0\.1|prisma/i);
  });
});
