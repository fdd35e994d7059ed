/**
 * The scheduler and two workers on real Postgres, Redis and an artifact directory: a small sweep
 * goes prepare → shards → train → evaluate → report and its results equal `runSweep`'s in one
 * process, number for number; a second experiment that shares the first's shards and cells
 * samples and trains nothing.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dropoutLabel, parseSweepSpec } from '@rdlab/core';
import {
  createDb,
  type Db,
  type EmbeddedPostgres,
  migrate,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { type RedisServer, startRedisServer } from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import {
  type CellResult,
  MemoryMetrics,
  newCounters,
  runSweep,
  type SweepReport,
  silentProgress,
} from '@rdlab/pipeline';
import { getJson, LocalDirectoryStore } from '@rdlab/store';
import { type RunningWorker, startWorker } from '@rdlab/worker';
import { type RunningScheduler, startScheduler } from '../src/main.js';

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
  let root: string;
  let pg: EmbeddedPostgres;
  let redis: RedisServer;
  let db: Db;
  let repos: Repositories;
  let scheduler: RunningScheduler;
  const workers: RunningWorker[] = [];
  const { spec, cells } = parseSweepSpec(SPEC);

  async function submit(name: string) {
    const team = (await repos.teams.findTeamByName('lab')) ?? (await repos.teams.createTeam('lab'));
    const { experiment } = await repos.experiments.createExperiment({
      teamId: team.id,
      name,
      specSubmitted: { name },
      specResolved: JSON.parse(JSON.stringify(spec)),
      cells: cells.map((c) => ({
        id: c.id,
        index: c.index,
        dataset: c.dataset,
        attribute: c.attribute,
        target: c.target,
        dropout: dropoutLabel(c.dropout),
        dropoutConfig: c.dropout,
        seed: c.seed,
      })),
    });
    return experiment.id;
  }

  async function finished(id: string, timeoutMs = 240_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await db.experiment.findUniqueOrThrow({ where: { id } });
      if (['succeeded', 'failed', 'partial', 'cancelled'].includes(e.status)) return e;
      if (Date.now() > deadline) throw new Error(`experiment ${id} still ${e.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rdlab-service-'));
    await chmod(root, 0o755); // embedded Postgres runs as its own user when we are root
    pg = await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
    await migrate(pg.url);
    redis = await startRedisServer({ dataDir: join(root, 'redis') });
    db = createDb(pg.url);
    repos = new Repositories(db);
    const store = join(root, 'artifacts');
    scheduler = await startScheduler({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      intervalMs: 200,
    });
    process.env.RDLAB_METRICS_PORT = '';
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
    await db?.$disconnect();
    await redis?.stop();
    await pg?.stop();
  });

  it('runs a sweep through the queue to the same numbers as one process', async () => {
    const id = await submit('first');
    const experiment = await finished(id);
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
      jobs.every((j) => j.state === 'completed'),
      JSON.stringify(jobs.map((j: { key: string; state: string }) => [j.key, j.state])),
    );
    assert.ok(
      jobs.every((j: { worker: string | null }) => j.worker !== null),
      'each job names its worker',
    );
    const points = await db.metricPoint.count({ where: { experimentId: id, name: 'train/loss' } });
    assert.ok(points > 0, 'training metrics reached Postgres');

    await initBackend();
    const local = await runSweep(
      {
        store: new LocalDirectoryStore(join(root, 'local')),
        metrics: new MemoryMetrics(),
        progress: silentProgress,
        baseDir: root,
        workDir: join(root, 'local-tmp'),
        counters: newCounters(),
      },
      spec,
      cells,
    );
    const numbers = (rs: CellResult[]) =>
      rs
        .map((r) => [r.cell.id, r.start.acc, r.final.acc, r.final.reward, r.final.bleu])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(numbers(results), numbers(local.results));
  });

  it('shares shards and cells with a second experiment of the same spec: nothing is recomputed', async () => {
    const before = await db.metricPoint.count({ where: { name: 'train/loss' } });
    const id = await submit('second');
    const experiment = await finished(id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    assert.equal(await db.metricPoint.count({ where: { name: 'train/loss' } }), before);
    const kinds = (await db.stageJob.findMany({ where: { experimentId: id } })).map(
      (j: { kind: string }) => j.kind,
    );
    assert.deepEqual([...new Set(kinds)].sort(), ['evaluate', 'report']);
  });
});
