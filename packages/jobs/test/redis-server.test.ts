/** The redis-server child process: AOF recovery across restarts and kills, and its errors. */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import {
  catalogJob,
  jobId,
  QUEUES,
  RedisServerError,
  redisConnection,
  startRedisServer,
} from '../src/index.js';
import { dataDir, skipWithoutRedis } from './redis.js';

const train = (cellId: string) =>
  catalogJob(
    'train',
    { version: 1, experimentId: 'e1', cellId, specKey: 'specs/e1.json' },
    { jobId: jobId('train', cellId) },
  );

async function addJobs(url: string, cellIds: string[]) {
  const queue = new Queue(QUEUES.stages, {
    connection: redisConnection(url, { role: 'producer' }),
  });
  try {
    for (const id of cellIds) {
      const job = train(id);
      await queue.add(job.name, job.data, job.opts);
    }
  } finally {
    await queue.close();
  }
}

async function waitingJobs(url: string): Promise<string[]> {
  const queue = new Queue(QUEUES.stages, {
    connection: redisConnection(url, { role: 'producer' }),
  });
  try {
    const jobs = await queue.getJobs(['waiting']);
    return jobs.map((j) => j.data.cellId as string).sort();
  } finally {
    await queue.close();
  }
}

describe('startRedisServer', { skip: skipWithoutRedis }, () => {
  const dirs: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  const fresh = async () => {
    const dir = await dataDir();
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const stop of stops) await stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('answers on loopback with noeviction and the append-only file on', async () => {
    const server = await startRedisServer({ dataDir: await fresh() });
    stops.push(() => server.stop());
    assert.match(server.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
    const queue = new Queue('rdlab-probe', { connection: redisConnection(server.url) });
    try {
      const info = await (await queue.backend.client).info();
      assert.match(info, /^maxmemory_policy:noeviction\r?$/m);
      assert.match(info, /^aof_enabled:1\r?$/m);
    } finally {
      await queue.close();
    }
  });

  it('keeps queued jobs across stop and start on the same dataDir', async () => {
    const dir = await fresh();
    const first = await startRedisServer({ dataDir: dir });
    stops.push(() => first.stop());
    await addJobs(first.url, ['c1', 'c2', 'c3']);
    await first.stop();
    await first.stop(); // idempotent

    const second = await startRedisServer({ dataDir: dir });
    stops.push(() => second.stop());
    assert.deepEqual(await waitingJobs(second.url), ['c1', 'c2', 'c3']);
    await second.stop();
  });

  it('keeps jobs older than the fsync second across a SIGKILL (restart drill)', async () => {
    const dir = await fresh();
    const first = await startRedisServer({ dataDir: dir });
    stops.push(() => first.kill());
    await addJobs(first.url, ['c4', 'c5']);
    await sleep(1500); // appendfsync everysec
    await first.kill();

    const second = await startRedisServer({ dataDir: dir });
    stops.push(() => second.stop());
    assert.deepEqual(await waitingJobs(second.url), ['c4', 'c5']);
  });

  it('uses the port it is given, and says so when that port is taken', async () => {
    const server = await startRedisServer({ dataDir: await fresh() });
    stops.push(() => server.stop());
    await assert.rejects(
      startRedisServer({ dataDir: await fresh(), port: server.port, startTimeoutMs: 5000 }),
      (e: unknown) =>
        e instanceof RedisServerError &&
        e.code === 'RDLAB_REDIS_SERVER_START_FAILED' &&
        e.message.includes(`port ${server.port}`),
    );
  });
});

describe('startRedisServer errors', () => {
  it('names apt-get install redis-server when there is none on PATH', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await assert.rejects(
        startRedisServer({ dataDir: '/tmp/unused' }),
        (e: unknown) =>
          e instanceof RedisServerError &&
          e.code === 'RDLAB_REDIS_SERVER_NOT_FOUND' &&
          e.message.includes('apt-get install redis-server'),
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('rejects unknown options', async () => {
    await assert.rejects(
      startRedisServer({ dataDir: '/tmp/unused', bind: '0.0.0.0' } as never),
      (e: unknown) =>
        e instanceof RedisServerError && e.code === 'RDLAB_REDIS_SERVER_OPTIONS_INVALID',
    );
  });
});
