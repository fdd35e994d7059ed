/**
 * The scheduler and two workers on real Postgres, Redis and an artifact directory: a small sweep
 * goes prepare → shards → train → evaluate → report and its results equal `runSweep`'s in one
 * process, number for number; a second experiment that shares the first's shards and cells
 * samples and trains nothing.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CellResult, SweepReport } from '@rdlab/pipeline';
import { getJson, LocalDirectoryStore } from '@rdlab/store';
import { type RunningWorker, startWorker } from '@rdlab/worker';
import { type RunningScheduler, startScheduler } from '../src/main.js';
import { finished, runLocally, type Services, startServices, submit } from './harness.js';

const SPEC = `
name: service
datasets: [{ name: demo, source: builtin:demo, attributes: [negative, positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
rewardModel:
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
dropout: [{ kind: none }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 2, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 10 }
evaluation: { prefixes: 12, examples: 2 }
seeds: [1]
`;

describe('the service: scheduler and workers', { timeout: 300_000 }, () => {
  let services: Services;
  let scheduler: RunningScheduler;
  const workers: RunningWorker[] = [];

  before(async () => {
    services = await startServices('service');
    const { root, pg, redis } = services;
    const store = join(root, 'artifacts');
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
    await services?.stop();
  });

  it('runs a sweep through the queue to the same numbers as one process', async () => {
    const { db, repos, root } = services;
    const { id, spec, cells } = await submit(repos, SPEC);
    const experiment = await finished(db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const store = new LocalDirectoryStore(join(root, 'artifacts'));
    const { report, results } = await getJson<{ report: SweepReport; results: CellResult[] }>(
      store,
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
    assert.deepEqual([...new Set(kinds)].sort(), ['evaluate', 'report']);
  });
});
