/**
 * The container entries of docker/, run as the images run them (`node --conditions=source
 * --import tsx docker/<entry>`) against a real Postgres (embedded) and the system redis-server:
 *
 * - migrate.ts migrates, registers the autoscaler token once, and refuses bad configuration;
 * - scheduler.ts and worker.ts serve /healthz and /metrics on 0.0.0.0 (the worker's own metrics
 *   server binds 127.0.0.1), the scheduler's with a fresh rdlab_queue_depth, and stop on SIGTERM;
 * - healthcheck.mjs (the images' HEALTHCHECK) tells a live probe from a dead one.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createDb,
  type EmbeddedPostgres,
  migrate,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { type RedisServer, startRedisServer } from '@rdlab/jobs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = `rdl_${Buffer.alloc(32, 7).toString('base64url')}`;
const redisMissing = spawnSync('redis-server', ['--version']).status !== 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/** A node process as the image starts it; its output is kept for failure messages. */
function start(args: string[], env: Record<string, string>): ChildProcess & { output: string[] } {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string[] };
  child.output = [];
  child.stdout?.on('data', (d: Buffer) => child.output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => child.output.push(d.toString()));
  return child;
}

function entry(file: string, env: Record<string, string>) {
  return start(['--conditions=source', '--import', 'tsx', file], env);
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** GET until it answers 200 (the process is starting), or fail with the process's output. */
async function waitFor(
  url: string,
  child: ChildProcess & { output: string[] },
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      assert.fail(`exited with ${child.exitCode}:\n${child.output.join('')}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return res;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) assert.fail(`${url} did not answer:\n${child.output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function healthcheck(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(root, 'docker/healthcheck.mjs'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

/** An address of this machine other than loopback, to show a server listens on 0.0.0.0. */
function externalAddress(): string | null {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return null;
}

describe('docker/healthcheck.mjs', () => {
  test('fails on a port nobody listens on, and on an unknown target', async () => {
    const port = await freePort();
    const dead = healthcheck(['probes'], { RDLAB_METRICS_PORT: String(port) });
    assert.equal(dead.status, 1);
    assert.match(dead.stderr, /ECONNREFUSED/);
    const api = healthcheck(['api'], { RDLAB_API_PORT: String(port) });
    assert.equal(api.status, 1);
    assert.match(api.stderr, new RegExp(`127\\.0\\.0\\.1:${port}/healthz`));
    assert.equal(healthcheck(['nonsense']).status, 2);
  });
});

describe('docker/ entries against Postgres and Redis', {
  skip: redisMissing ? 'redis-server is not installed (apt-get install redis-server)' : false,
}, () => {
  let dir = '';
  let pg: EmbeddedPostgres | null = null;
  let redis: RedisServer | null = null;
  let env: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rdlab-entries-'));
    await chmod(dir, 0o755); // as root the server runs as `postgres`, which must enter the folder
    pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
    redis = await startRedisServer({ dataDir: join(dir, 'redis') });
    await mkdir(join(dir, 'store'));
    env = {
      DATABASE_URL: pg.url,
      REDIS_URL: redis.url,
      RDLAB_STORE: join(dir, 'store'),
      RDLAB_LOG_LEVEL: 'warn',
    };
  });

  after(async () => {
    await redis?.stop();
    await pg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('migrate.ts migrates and registers the autoscaler token once', async () => {
    const first = entry('docker/migrate.ts', {
      DATABASE_URL: pg!.url,
      RDLAB_BOOTSTRAP_TOKEN: TOKEN,
      RDLAB_BOOTSTRAP_TEAM: 'ops',
    });
    assert.equal(await exited(first, 30_000), 0, first.output.join(''));
    assert.match(first.output.join(''), /migration\(s\) applied/);
    assert.match(first.output.join(''), /registered the autoscaler token rdl_BwcH/);
    const again = entry('docker/migrate.ts', {
      DATABASE_URL: pg!.url,
      RDLAB_BOOTSTRAP_TOKEN: TOKEN,
    });
    assert.equal(await exited(again, 30_000), 0, again.output.join(''));
    assert.match(again.output.join(''), /0 migration\(s\) applied, \d+ already applied/);
    assert.match(again.output.join(''), /is registered/);
    const db = createDb(pg!.url);
    try {
      const principal = await new Repositories(db).tokens.authenticate(TOKEN);
      assert.ok(principal, 'the token authenticates');
      const team = await db.team.findUnique({ where: { id: principal.teamId } });
      assert.equal(team?.name, 'ops');
      assert.equal(await db.apiToken.count({ where: { name: 'autoscaler' } }), 1);
    } finally {
      await db.$disconnect();
    }
  });

  test('migrate.ts refuses bad configuration with exit 2, and gives up on a dead Postgres', async () => {
    const none = entry('docker/migrate.ts', {});
    assert.equal(await exited(none, 20_000), 2);
    assert.match(none.output.join(''), /DATABASE_URL is not set/);
    const bad = entry('docker/migrate.ts', { DATABASE_URL: pg!.url, RDLAB_BOOTSTRAP_TOKEN: 'x' });
    assert.equal(await exited(bad, 20_000), 2);
    assert.match(bad.output.join(''), /RDLAB_BOOTSTRAP_TOKEN must be/);
    const port = await freePort();
    const dead = entry('docker/migrate.ts', {
      DATABASE_URL: `postgresql://rdlab:rdlab@127.0.0.1:${port}/rdlab`,
      RDLAB_MIGRATE_WAIT_S: '1',
    });
    assert.equal(await exited(dead, 20_000), 1);
    assert.match(
      dead.output.join(''),
      /waiting for Postgres[\s\S]*migration failed: .*ECONNREFUSED/,
    );
  });

  test('scheduler.ts serves /healthz and /metrics (queue depth from Redis) on 0.0.0.0', async () => {
    await migrate(pg!.url);
    const port = await freePort();
    const child = entry('docker/scheduler.ts', { ...env, RDLAB_METRICS_PORT: String(port) });
    try {
      const health = await waitFor(`http://127.0.0.1:${port}/healthz`, child);
      assert.deepEqual(await health.json(), { status: 'ok', component: 'scheduler' });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^rdlab_queue_depth\{queue="rdlab-stages",state="waiting"\} 0$/m);
      assert.match(metrics, /^process_cpu_user_seconds_total /m);
      const promtool = spawnSync('promtool', ['check', 'metrics'], {
        input: metrics,
        encoding: 'utf8',
      });
      if (promtool.error === undefined)
        assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
      const outside = externalAddress();
      if (outside) assert.ok((await fetch(`http://${outside}:${port}/healthz`)).ok);
      assert.equal(healthcheck(['probes'], { RDLAB_METRICS_PORT: String(port) }).status, 0);
      child.kill('SIGTERM');
      assert.equal(await exited(child, 15_000), 0, child.output.join(''));
    } finally {
      child.kill('SIGKILL');
    }
  });

  test("worker.ts serves the worker's metrics and /healthz on 0.0.0.0 and stops on SIGTERM", async () => {
    await migrate(pg!.url);
    const port = await freePort();
    const child = entry('docker/worker.ts', {
      ...env,
      RDLAB_METRICS_PORT: String(port),
      RDLAB_WORKER_ID: 'worker-under-test',
      RDLAB_SHUTDOWN_GRACE_MS: '2000',
      RDLAB_WORK_DIR: join(dir, 'work'),
    });
    try {
      const health = (await (await waitFor(`http://127.0.0.1:${port}/healthz`, child)).json()) as {
        worker: string;
        backend: string;
        stopping: boolean;
      };
      assert.equal(health.worker, 'worker-under-test');
      assert.equal(health.stopping, false);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`^rdlab_workers_active\\{backend="${health.backend}"\\} 1$`, 'm'),
      );
      const outside = externalAddress();
      if (outside) assert.ok((await fetch(`http://${outside}:${port}/metrics`)).ok);
      assert.equal((await fetch(`http://127.0.0.1:${port}/nothing`)).status, 404);
      assert.equal(healthcheck(['probes'], { RDLAB_METRICS_PORT: String(port) }).status, 0);
      const db = createDb(pg!.url);
      try {
        const row = await db.worker.findUnique({ where: { id: 'worker-under-test' } });
        assert.equal(row?.backend, health.backend, 'the heartbeat is in Postgres');
        child.kill('SIGTERM');
        assert.equal(await exited(child, 20_000), 0, child.output.join(''));
        assert.equal(await db.worker.count({ where: { id: 'worker-under-test' } }), 0);
      } finally {
        await db.$disconnect();
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
