/** The README example, type-checked and run against a real redis-server. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { it } from 'node:test';
import { Queue, Worker } from 'bullmq';
import {
  catalogJob,
  jobId,
  lockOptionsFromEnv,
  parsePayload,
  QUEUES,
  queueDepth,
  redisConnection,
  startRedisServer,
  workerOptions,
} from '../src/index.js';
import { dataDir, skipWithoutRedis } from './redis.js';

it('runs the README example', { skip: skipWithoutRedis }, async () => {
  const dir = await dataDir();
  // --- README example starts
  const redis = await startRedisServer({ dataDir: dir }); // or a cluster's REDIS_URL
  // One queue for every stage job: prepare, bootstrap, train, publish, report.
  const stages = new Queue(QUEUES.stages, {
    connection: redisConnection(redis.url, { role: 'producer' }),
  });
  const shardKey = 'shards/3f9a0c1d2e4b5a6978c0d1e2.arrow';
  const job = catalogJob(
    'bootstrap',
    {
      version: 1,
      experimentId: 'e1',
      specKey: 'specs/e1.json',
      dataset: 'imdb',
      attribute: 'positive',
      start: 0,
      end: 1000,
      shardKey,
    },
    { jobId: jobId('bootstrap', shardKey) }, // a second experiment adding it makes no second job
  );
  await stages.add(job.name, job.data, job.opts);
  const depth = await queueDepth([stages]); // { 'rdlab-stages': { waiting: 1, …, depth: 1 } }

  // One Worker, one job at a time (concurrency 1 per accelerator), every job name handled.
  const worker = new Worker(
    QUEUES.stages,
    async (j) => {
      const payload = parsePayload(j.name, j.data); // throws RDLAB_JOB_PAYLOAD_INVALID
      // … run stage jobCatalog[j.name].stage for payload.experimentId, within its timeoutMs
      return payload.version;
    },
    {
      connection: redisConnection(redis.url),
      concurrency: 1,
      // 5-min lock renewed at half; RDLAB_LOCK_DURATION_MS, RDLAB_STALLED_INTERVAL_MS override
      ...lockOptionsFromEnv(workerOptions(QUEUES.stages)),
    },
  );
  await once(worker, 'completed');
  await worker.close();
  await stages.close();
  await redis.stop();
  // --- README example ends
  assert.equal(depth[QUEUES.stages]?.depth, 1);
  await rm(dir, { recursive: true, force: true });
});
