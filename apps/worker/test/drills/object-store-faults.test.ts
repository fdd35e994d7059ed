/**
 * Drill: the object store fails for a while mid-run (reliability issue 12, item 1d). Real
 * embedded Postgres, redis-server, s3rver, the scheduler and two workers (sandboxed children),
 * every one of them reaching s3rver through the fault proxy of @rdlab/store's tests.
 *
 * Once the first shard is written the proxy answers 5xx to every request for `OUTAGE_MS`, then
 * holds every request unanswered (past the client's socket timeout) for `HANG_MS`; it also arms
 * faults that the training and evaluation paths must meet later: shard reads cut off mid-body or
 * served short, checkpoint uploads that hang, a cell result served short.
 *
 * - Every 5xx and hang is retried by the S3 client (the proxy sees the SDK's retries), every cut
 *   or short body is detected and read again, and the sweep succeeds with every stage job done
 *   at its first attempt: the store absorbed the faults, no job waited for BullMQ's retry.
 * - Its results equal an uninterrupted run's, number for number (`runSweep` in one process):
 *   no partial shard or checkpoint was ever read.
 * - Every object in the store is whole: its length and SHA-256 match those recorded at put.
 *
 * The outage is shorter than the client's retry window (`retriesWindowMs` of the settings below),
 * so no call gives up: the drill is about retries and checksums, not BullMQ's job retries.
 * `RDLAB_DRILLS=full` makes it longer (still inside the window).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { CellResult } from '@rdlab/pipeline';
import {
  createS3Client,
  getJson,
  retriesWindowMs,
  S3ArtifactStore,
  s3OptionsFromEnv,
} from '@rdlab/store';
import { type FaultProxy, startFaultProxy } from '../../../../packages/store/test/fault-proxy.js';
import {
  S3RVER_CREDENTIALS,
  type S3Server,
  startS3Server,
} from '../../../../packages/store/test/s3-server.js';
import { type RunningScheduler, startScheduler } from '../../../scheduler/src/main.js';
import {
  finished,
  runLocally,
  type Services,
  startServices,
  submit,
  tinySpec,
  until,
} from '../../../scheduler/test/harness.js';
import { type RunningWorker, startWorker } from '../../src/worker.js';

const FULL = process.env.RDLAB_DRILLS === 'full';
const OUTAGE_MS = FULL ? 6_000 : 3_000;
const HANG_MS = FULL ? 3_000 : 1_500;

/** Client settings of every process in the drill: short timeouts, a retry window > the faults. */
const S3_ENV = {
  RDLAB_S3_MAX_ATTEMPTS: FULL ? '14' : '10',
  RDLAB_S3_RETRY_BASE_MS: '200',
  RDLAB_S3_RETRY_MAX_MS: '2000',
  RDLAB_S3_CONNECT_TIMEOUT_MS: '1000',
  RDLAB_S3_REQUEST_TIMEOUT_MS: '10000',
  RDLAB_S3_SOCKET_TIMEOUT_MS: '1000',
  RDLAB_S3_READ_ATTEMPTS: '6',
};

const SPEC = tinySpec('store-faults', {
  dropout: '[{ kind: none }, { kind: quantile, gamma: 0.5 }]',
  training: '{ batchSize: 8, epochs: 2, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }',
  bootstrap: '{ prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 12 }',
});

describe('drill: object store faults', { timeout: 240_000 }, () => {
  let services: Services;
  let s3: S3Server;
  let proxy: FaultProxy;
  let scheduler: RunningScheduler;
  const workers: RunningWorker[] = [];
  const saved = { ...process.env };
  const location = 's3://artifacts/rdlab';

  before(async () => {
    services = await startServices('store-faults');
    s3 = await startS3Server(join(services.root, 's3'), ['artifacts']);
    proxy = await startFaultProxy(s3.url);
    // The scheduler, the workers and their sandboxed children open the store from these.
    Object.assign(process.env, S3_ENV, {
      RDLAB_S3_ENDPOINT: proxy.url,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    });
    const { redis, pg, root } = services;
    scheduler = await startScheduler({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store: location,
      intervalMs: 200,
    });
    for (const id of ['w1', 'w2'])
      workers.push(
        await startWorker({
          redisUrl: redis.url,
          databaseUrl: pg.url,
          store: location,
          baseDir: root,
          workDir: join(root, `work-${id}`),
          workerId: id,
          metricsPort: null,
        }),
      );
  });

  after(async () => {
    for (const w of workers) await w.close(1000);
    await scheduler?.close();
    await proxy?.close();
    await s3?.close();
    await services?.stop();
    process.env = saved;
  });

  it('retries through 5xx and hangs, detects cut and short bodies, and ends as an uninterrupted run', async () => {
    const window = retriesWindowMs(s3OptionsFromEnv(S3_ENV));
    assert.ok(window > OUTAGE_MS + HANG_MS, `retry window ${window} ms covers the faults`);
    // The drill's own view of the store, around the proxy.
    const { client: direct } = createS3Client(
      { ...s3OptionsFromEnv({}), endpoint: s3.url },
      { credentials: S3RVER_CREDENTIALS },
    );
    const store = S3ArtifactStore.fromUrl(direct, location);
    try {
      const { id, spec, cells } = await submit(services.repos, SPEC);
      await until('the first shard', async () => (await store.list('shards/')).length > 0);

      proxy.inject({ kind: 'status', status: 503 }, { forMs: OUTAGE_MS });
      await sleep(OUTAGE_MS);
      proxy.inject({ kind: 'hang' }, { forMs: HANG_MS });
      await sleep(HANG_MS);
      // Faults the train and evaluate jobs meet later, on their own data.
      proxy.inject({ kind: 'cut' }, { times: 2, path: /\/shards\// });
      proxy.inject({ kind: 'short' }, { times: 2, path: /\/shards\// });
      proxy.inject({ kind: 'hang' }, { times: 2, method: 'PUT', path: /\/epoch-\d+\// });
      proxy.inject({ kind: 'short' }, { times: 1, path: /\/result\.json/ });

      const experiment = await finished(services.db, id);
      assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
      const c = proxy.counts;
      assert.equal(proxy.pending(), 0, 'every armed fault was met');
      assert.ok(c.serverErrors > 0 && c.hangs >= 2, JSON.stringify(c));
      assert.ok(
        c.sdkRetries >= c.serverErrors + c.hangs,
        `each 5xx and hang was retried: ${JSON.stringify(c)}`,
      );
      assert.ok(c.rereadsAfterTruncation >= 1, 'a cut or short body was read again whole');
      // The store absorbed every fault: no job failed and waited for BullMQ's retry (a short
      // body taken for whole fails a shard's Arrow decoding or a result's JSON, and costs one).
      const jobs = await services.db.stageJob.findMany({ where: { experimentId: id } });
      const retried = jobs.filter((j: { attempts: number }) => j.attempts !== 1);
      assert.deepEqual(
        retried.map((j: { key: string; attempts: number }) => [j.key, j.attempts]),
        [],
        'jobs that needed more than one attempt',
      );

      // Every object is whole: length and SHA-256 as recorded (get checks them).
      const keys = await store.list('');
      for (const key of keys) {
        await store.get(key);
        const head = await direct.send(
          new HeadObjectCommand({ Bucket: 'artifacts', Key: `rdlab/${key}` }),
        );
        assert.ok(head.Metadata?.['rdlab-sha256'], `${key} carries its checksum`);
      }
      assert.equal(store.counts.mismatches + store.counts.cutBodies, 0);

      const results = await Promise.all(
        cells.map((cell) => getJson<CellResult>(store, `cells/${cell.id}/result.json`)),
      );
      const local = await runLocally(services.root, spec, cells);
      const numbers = (rs: CellResult[]) =>
        rs
          .map((r) => [
            r.cell.id,
            r.start.acc,
            r.final.acc,
            r.final.reward,
            r.epochs.map((e) => e.meanLoss),
          ])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      assert.deepEqual(numbers(results), numbers(local.results));
      console.log(
        `drill: object store faults | ${OUTAGE_MS / 1000} s of 503 then ${HANG_MS / 1000} s of hangs mid-run, ` +
          `${c.serverErrors} 5xx + ${c.hangs} hangs injected, ${c.sdkRetries} SDK retries, ` +
          `${c.cuts} cut + ${c.shorts} short bodies detected, ${c.rereadsAfterTruncation} re-read whole, ` +
          `${keys.length} objects verified, results equal an uninterrupted run | pass`,
      );
    } finally {
      direct.destroy();
    }
  });
});
