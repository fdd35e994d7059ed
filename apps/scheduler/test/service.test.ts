/**
 * The scheduler and two workers on real Postgres, Redis and an S3-compatible server (s3rver, in
 * process on loopback): a small sweep
 * goes prepare → bootstrap → train → publish → report and its results equal `runSweep`'s in one
 * process, number for number; a second experiment that shares the first's shards and cells
 * samples and trains nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { CellResult, SweepReport } from '@rdlab/pipeline';
import { getJson, openStore } from '@rdlab/store';
import { type RunningWorker, startWorker } from '@rdlab/worker';
import S3rver from 's3rver';
import { type RunningScheduler, startScheduler } from '../src/main.js';
import { finished, runLocally, type Services, startServices, submit, tinySpec } from './harness.js';

const SPEC = tinySpec('service', {
  attributes: '[negative, positive]',
  dropout: '[{ kind: none }, { kind: quantile, gamma: 0.5 }]',
  training: '{ batchSize: 8, epochs: 2, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }',
  bootstrap: '{ prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 10 }',
  evaluation: '{ prefixes: 12, examples: 2 }',
});

describe('the service: scheduler and workers', { timeout: 300_000 }, () => {
  let services: Services;
  let scheduler: RunningScheduler;
  const workers: RunningWorker[] = [];

  let s3: S3rver;
  const store = 's3://artifacts/rdlab';

  before(async () => {
    services = await startServices('service');
    const { root, pg, redis } = services;
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3') });
    const { port } = (await s3.run()) as AddressInfo;
    // The scheduler, the workers and their sandboxed children all open the store from these.
    Object.assign(process.env, {
      RDLAB_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_REGION: 'us-east-1',
    });
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
    client.destroy();
    scheduler = await startScheduler({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      intervalMs: 200,
    });
    for (const id of ['w1', 'w2'])
      workers.push(
        await startWorker({
          redisUrl: redis.url,
          databaseUrl: pg.url,
          store,
          baseDir: root,
          workDir: join(root, `work-${id}`),
          workerId: id,
          metricsPort: 0,
        }),
      );
  });

  after(async () => {
    for (const w of workers) await w.close(1000);
    await scheduler?.close();
    await s3?.close();
    await services?.stop();
  });

  it('runs a sweep through the queue to the same numbers as one process', async () => {
    const { db, repos, root } = services;
    const { id, spec, cells } = await submit(repos, SPEC);
    const experiment = await finished(db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const { report, results } = await getJson<{ report: SweepReport; results: CellResult[] }>(
      await openStore(store),
      `experiments/${id}/results.json`,
    );
    assert.equal(report.variants.length, 4);
    const rows = await db.evalResult.findMany({ where: { experimentId: id } });
    assert.equal(rows.length, cells.length * 3, 'start + 2 epochs per cell in Postgres');
    const jobs = await db.stageJob.findMany({ where: { experimentId: id } });
    assert.ok(
      jobs.every((j: { state: string }) => j.state === 'completed'),
      JSON.stringify(jobs.map((j: { key: string; state: string }) => [j.key, j.state])),
    );
    assert.ok(
      jobs.every((j: { worker: string | null }) => j.worker !== null),
      'each job names its worker',
    );
    const points = await db.metricPoint.count({ where: { experimentId: id, name: 'train/loss' } });
    assert.ok(points > 0, 'training metrics reached Postgres');

    const local = await runLocally(root, spec, cells);
    const numbers = (rs: CellResult[]) =>
      rs
        .map((r) => [r.cell.id, r.start.acc, r.final.acc, r.final.reward, r.final.bleu])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(numbers(results), numbers(local.results));
  });

  it('shares shards and cells with a second experiment of the same spec: nothing is recomputed', async () => {
    const { db, repos } = services;
    const before = await db.metricPoint.count({ where: { name: 'train/loss' } });
    const { id } = await submit(repos, SPEC.replace('name: service', 'name: second'));
    const experiment = await finished(db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    assert.equal(await db.metricPoint.count({ where: { name: 'train/loss' } }), before);
    const kinds = (await db.stageJob.findMany({ where: { experimentId: id } })).map(
      (j: { kind: string }) => j.kind,
    );
    assert.deepEqual([...new Set(kinds)].sort(), ['publish', 'report']);
  });

  it('two experiments submitted at the same moment sample each shared shard once', async () => {
    const { db, repos } = services;
    // New sampling (another bootstrap seed), shared by both; different dropouts.
    const base = SPEC.replace('shardSize: 10 }', 'shardSize: 10, seed: 9 }');
    const [a, b] = await Promise.all([
      submit(
        repos,
        base
          .replace('name: service', 'name: twin-a')
          .replace(/dropout: .*\n/, 'dropout: [{ kind: none }]\n'),
      ),
      submit(
        repos,
        base
          .replace('name: service', 'name: twin-b')
          .replace(/dropout: .*\n/, 'dropout: [{ kind: random, gamma: 0.5 }]\n'),
      ),
    ]);
    for (const id of [a.id, b.id]) {
      const experiment = await finished(db, id);
      assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    }
    // Each shard writes its summary points once, under whichever experiment ran it.
    const sampled = await db.metricPoint.count({
      where: {
        experimentId: { in: [a.id, b.id] },
        stage: 'bootstrap',
        name: 'behavior/mean_likelihood',
      },
    });
    assert.equal(sampled, 2 * 3, '2 attributes × 3 shards, each sampled once');
    const shardJobs = await db.stageJob.findMany({
      where: { experimentId: { in: [a.id, b.id] }, kind: 'bootstrap' },
    });
    assert.equal(new Set(shardJobs.map((j: { key: string }) => j.key)).size, 6);
  });

  it("serves each worker's Prometheus metrics, and promtool accepts them", async () => {
    const texts = await Promise.all(
      workers.map(async (w) => (await fetch(`http://127.0.0.1:${w.metricsPort}/metrics`)).text()),
    );
    const all = texts.join('\n');
    assert.match(all, /rdlab_job_duration_seconds_bucket\{le="[^"]+",stage="train"\}/);
    assert.match(all, /rdlab_samples_total\{stage="bootstrap"\} \d+/);
    assert.match(all, /rdlab_tokens_total\{stage="train",backend="[a-z-]+"\} [1-9]\d*/);
    assert.match(all, /rdlab_workers_active\{backend="[a-z-]+"\} 1/);
    assert.doesNotMatch(all, /cell|experiment/, 'no per-cell or per-experiment labels');
    const promtool = spawnSync('promtool', ['check', 'metrics'], {
      input: texts[0],
      encoding: 'utf8',
    });
    if (promtool.error) return; // promtool absent: .ci/setup.sh installs it (Debian prometheus)
    assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
  });
});
