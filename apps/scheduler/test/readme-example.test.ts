/**
 * The README example, type-checked and run over real Postgres and redis-server (the harness's)
 * and an S3 store (s3rver on loopback, bucket `bucket`): one tick queues the first stage of a
 * submitted experiment. apps/cli/test/readmes.test.ts keeps the block and this region equal.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { Queue } from 'bullmq';
import S3rver from 's3rver';
import { startScheduler } from '../src/main.js';
import { type Services, startServices, submit, tinySpec } from './harness.js';

let services: Services;
let s3: S3rver;

before(async () => {
  services = await startServices('scheduler-readme');
  s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: join(services.root, 's3'),
  });
  const endpoint = `http://127.0.0.1:${((await s3.run()) as AddressInfo).port}`;
  // openStore('s3://…') reads these.
  Object.assign(process.env, {
    RDLAB_S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  await client.send(new CreateBucketCommand({ Bucket: 'bucket' }));
  client.destroy();
});

after(async () => {
  await s3?.close();
  await services?.stop();
});

it('ticks once: the submitted experiment gets its prepare job', { timeout: 120_000 }, async () => {
  const { id } = await submit(services.repos, tinySpec('readme'));
  const redisUrl = services.redis.url;
  const databaseUrl = services.pg.url;

  // --- README example starts
  const scheduler = await startScheduler({ redisUrl, databaseUrl, store: 's3://bucket/prefix' });
  await scheduler.tick(); // one pass now
  await scheduler.close();
  // --- README example ends

  const queue = new Queue(QUEUES.stages, {
    connection: redisConnection(redisUrl, { role: 'producer' }),
  });
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
    assert.deepEqual(
      jobs.map((j) => j.name),
      ['prepare'],
    );
    const experiment = await services.db.experiment.findUniqueOrThrow({ where: { id } });
    assert.equal(experiment.status, 'running');
  } finally {
    await queue.close();
  }
});
