/**
 * BullMQ against a real redis-server: job-id deduplication, queue depth, a worker round trip,
 * and a dead worker's job retried after the (env-shortened) lock.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Queue, Worker } from 'bullmq';
import {
  catalogJob,
  type JobPayload,
  jobId,
  lockOptionsFromEnv,
  parsePayload,
  QUEUES,
  queueDepth,
  type RedisServer,
  redisConnection,
  startRedisServer,
  workerOptions,
} from '../src/index.js';
import { dataDir, skipWithoutRedis } from './redis.js';

const shard = (experimentId: string): JobPayload<'bootstrap'> => ({
  version: 1,
  experimentId,
  specKey: `specs/${experimentId}.json`,
  dataset: 'imdb',
  attribute: 'positive',
  start: 0,
  end: 1000,
  shardKey: 'shards/3f9a0c1d2e4b5a6978c0d1e2.arrow',
});

describe('queues on redis-server', { skip: skipWithoutRedis }, () => {
  let server: RedisServer;
  let dir: string;
  const closing: { close(): Promise<void> }[] = [];
  const open = <T extends { close(): Promise<void> }>(thing: T): T => {
    closing.push(thing);
    return thing;
  };
  const queue = (name: string) =>
    open(new Queue(name, { connection: redisConnection(server.url, { role: 'producer' }) }));

  before(async () => {
    dir = await dataDir();
    server = await startRedisServer({ dataDir: dir });
  });
  after(async () => {
    await Promise.all(closing.map((c) => c.close()));
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes ONE job of the same shard added at once by two experiments', async () => {
    const a = queue(QUEUES.stages);
    const b = queue(QUEUES.stages);
    const fromA = catalogJob('bootstrap', shard('eA'), {
      jobId: jobId('bootstrap', shard('eA').shardKey),
    });
    const fromB = catalogJob('bootstrap', shard('eB'), {
      jobId: jobId('bootstrap', shard('eB').shardKey),
    });
    assert.equal(fromA.queueName, QUEUES.stages);
    const [jobA, jobB] = await Promise.all([
      a.add(fromA.name, fromA.data, fromA.opts),
      b.add(fromB.name, fromB.data, fromB.opts),
    ]);
    assert.equal(jobA.id, 'bootstrap~shards/3f9a0c1d2e4b5a6978c0d1e2.arrow');
    assert.equal(jobB.id, jobA.id);
    assert.equal(await a.count(), 1);
    const stored = await a.getJob(jobA.id!);
    assert.ok(['eA', 'eB'].includes(parsePayload('bootstrap', stored?.data).experimentId));
    await a.obliterate({ force: true }); // the next tests count this queue from zero
  });

  it('reports waiting, prioritized and delayed jobs of every stage, and their sum as depth', async () => {
    const stages = queue(QUEUES.stages);
    const cell = (cellId: string) => ({
      version: 1 as const,
      experimentId: 'e1',
      cellId,
      specKey: 'specs/e1.json',
    });
    const jobs = [
      catalogJob('train', cell('c1'), { jobId: jobId('train', 'c1') }),
      catalogJob('publish', cell('c2'), { jobId: jobId('publish', 'c2') }),
      catalogJob('bootstrap', shard('e1'), {
        jobId: jobId('bootstrap', shard('e1').shardKey),
        priority: 5,
      }),
      catalogJob(
        'report',
        { version: 1, experimentId: 'e1', specKey: 'specs/e1.json' },
        { jobId: jobId('report', 'e1'), delay: 60_000 },
      ),
    ];
    for (const job of jobs) await stages.add(job.name, job.data, job.opts);
    const depth = await queueDepth([stages]);
    assert.deepEqual(depth, {
      [QUEUES.stages]: {
        waiting: 2,
        prioritized: 1,
        delayed: 1,
        active: 0,
        failed: 0,
        completed: 0,
        waitingChildren: 0,
        depth: 4,
      },
    });
    await stages.obliterate({ force: true });
  });

  it('runs a catalog job through a worker with the catalog lock settings', async () => {
    const stages = queue(QUEUES.stages);
    const seen: string[] = [];
    const worker = open(
      new Worker(
        QUEUES.stages,
        async (job) => {
          seen.push(`${job.name} ${parsePayload(job.name, job.data).experimentId}`);
          return 'ok';
        },
        { connection: redisConnection(server.url), ...workerOptions(QUEUES.stages) },
      ),
    );
    const done = new Promise<void>((resolve) => worker.once('completed', () => resolve()));
    const job = catalogJob('publish', {
      version: 1,
      experimentId: 'e7',
      cellId: 'c7',
      specKey: 'specs/e7.json',
    });
    await stages.add(job.name, job.data, { ...job.opts, jobId: jobId('publish', 'c7') });
    await done;
    await worker.close();
    assert.deepEqual(seen, ['publish e7']);
    assert.equal((await queueDepth([stages]))[QUEUES.stages]?.completed, 1);
    await stages.obliterate({ force: true });
  });

  it("retries a dead worker's job once its lock, shortened from the env, expires", async () => {
    const stages = queue(QUEUES.stages);
    const job = catalogJob(
      'train',
      { version: 1, experimentId: 'e8', cellId: 'c8', specKey: 'specs/e8.json' },
      { jobId: jobId('train', 'c8') },
    );
    await stages.add(job.name, job.data, job.opts);

    // A worker that takes the job and dies: fetched by hand, its lock is never renewed.
    const lock = lockOptionsFromEnv(workerOptions(QUEUES.stages), {
      RDLAB_LOCK_DURATION_MS: '1000',
      RDLAB_STALLED_INTERVAL_MS: '250',
    });
    assert.equal(lock.lockRenewTime, 500);
    const dead = open(
      new Worker(QUEUES.stages, null, {
        connection: redisConnection(server.url),
        autorun: false,
        ...lock,
      }),
    );
    const taken = await dead.getNextJob('dead-token');
    assert.equal(taken?.id, 'train~c8');

    const started = Date.now();
    const attempts: number[] = [];
    const live = open(
      new Worker(
        QUEUES.stages,
        async (j) => {
          attempts.push(j.attemptsStarted);
          return parsePayload('train', j.data).cellId;
        },
        { connection: redisConnection(server.url), ...lock },
      ),
    );
    const stalled = new Promise<string>((resolve) => live.once('stalled', (id) => resolve(id)));
    const done = new Promise<string>((resolve) =>
      live.once('completed', (_j, result: string) => resolve(result)),
    );
    assert.equal(await stalled, 'train~c8');
    assert.equal(await done, 'c8');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 10_000, `retried after ${elapsed} ms; the lock is 1000 ms`);
    assert.equal(attempts.length, 1);
    await live.close();
  });
});
