/**
 * Faults on the real service: worker processes (not in-process workers) on real Postgres, Redis
 * and an artifact directory.
 * - A worker killed with SIGKILL mid-training: another worker resumes the cell from its latest
 *   checkpoint, at most one epoch is repeated, and the final numbers equal an uninterrupted run.
 * - SIGTERM: the running cell is released at a step boundary and resumed there by another worker.
 * - Redis restarted mid-run (AOF): no job is lost and no cell is trained twice to completion.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jobId, QUEUES, redisConnection, startRedisServer } from '@rdlab/jobs';
import type { CellResult } from '@rdlab/pipeline';
import { getJson, LocalDirectoryStore, maybeJson } from '@rdlab/store';
import { Job, Queue } from 'bullmq';
import { type RunningScheduler, startScheduler } from '../src/main.js';
import {
  finished as finishedIn,
  killGroup,
  runLocally,
  type Services,
  spawnService,
  startServices,
  submit as submitTo,
  tinySpec,
  until,
} from './harness.js';

const workerMain = fileURLToPath(new URL('../../worker/src/main.ts', import.meta.url));

/** 200 prefixes × `samples` each, in batches of 8: 25 · samples steps an epoch. */
const spec = (epochs: number, seeds: number[], samples = 2) =>
  tinySpec('faults', {
    training: `{ batchSize: 8, epochs: ${epochs}, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0, samplesPerEpoch: all }`,
    bootstrap: `{ prefixesPerAttribute: 200, samplesPerPrefix: ${samples}, shardSize: 100 }`,
    evaluation: '{ prefixes: 8, examples: 1, trainingSamples: 0 }',
    seeds,
  });

describe('faults', { timeout: 400_000 }, () => {
  let services: Services;
  let scheduler: RunningScheduler;
  let store: LocalDirectoryStore;
  const children: ChildProcess[] = [];
  const finished = (id: string) => finishedIn(services.db, id);

  /** A worker process in its own process group, so SIGKILL takes its sandbox child too. */
  function spawnWorker(id: string, env: Record<string, string> = {}): ChildProcess {
    const child = spawnService(workerMain, {
      REDIS_URL: services.redis.url,
      DATABASE_URL: services.pg.url,
      RDLAB_STORE: join(services.root, 'artifacts'),
      RDLAB_BASE_DIR: services.root,
      RDLAB_WORKER_ID: id,
      RDLAB_LOCK_DURATION_MS: '2000',
      RDLAB_STALLED_INTERVAL_MS: '1000',
      RDLAB_SHUTDOWN_GRACE_MS: '1000',
      ...env,
    });
    children.push(child);
    return child;
  }

  /** Stops every worker of the previous tests, so each test knows who runs its jobs. */
  async function stopWorkers() {
    await Promise.all(children.splice(0).map(killGroup));
  }

  /** Training steps the last run of a cell's train job took (its result, kept in Redis). */
  async function trainStepsOf(cellId: string): Promise<number> {
    const queue = new Queue(QUEUES.stages, { connection: redisConnection(services.redis.url) });
    try {
      const job = await Job.fromId(queue, jobId('train', cellId));
      assert.ok(job, 'the train job is kept after it completed');
      return (job.returnvalue as { counters: { trainSteps: number } }).counters.trainSteps;
    } finally {
      await queue.close();
    }
  }

  async function submit(text: string) {
    await stopWorkers();
    return submitTo(services.repos, text);
  }

  before(async () => {
    services = await startServices('faults');
    store = new LocalDirectoryStore(join(services.root, 'artifacts'));
    scheduler = await startScheduler({
      redisUrl: services.redis.url,
      databaseUrl: services.pg.url,
      store: join(services.root, 'artifacts'),
      intervalMs: 200,
    });
  });

  after(async () => {
    await stopWorkers();
    await scheduler?.close();
    await services?.stop();
  });

  it('a worker killed with SIGKILL mid-training costs at most one epoch, and the numbers do not change', async () => {
    const epochs = 4;
    const { id, spec: resolved, cells } = await submit(spec(epochs, [1]));
    const cell = cells[0]!;
    const first = spawnWorker('doomed');
    // Kill it once the cell has a checkpoint but is not finished.
    const latest = await until('a checkpoint', async () => {
      const l = await maybeJson<{ epoch: number }>(store, `cells/${cell.id}/latest.json`);
      return l && l.epoch >= 1 && l.epoch < epochs ? l : null;
    });
    await killGroup(first);
    const killedAt = latest.epoch;
    spawnWorker('rescuer');
    const experiment = await finished(id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const stepsPerEpoch = 400 / 8;
    // Every step's metrics stored once: those of the checkpointed epochs were settled before
    // the checkpoint pointer moved, so the kill took none of them.
    const steps = await services.db.metricPoint.count({
      where: { cellId: cell.id, name: 'train/loss' },
    });
    assert.equal(steps, epochs * stepsPerEpoch, 'train/loss points, one per step');
    // The rescuer started from the checkpoint: it trained only the epochs after it.
    const rescuedSteps = await trainStepsOf(cell.id);
    assert.ok(
      rescuedSteps <= (epochs - killedAt) * stepsPerEpoch,
      `the rescuer trained ${rescuedSteps} steps: it did not resume from epoch ${killedAt}`,
    );
    const rescued = await services.db.stageJob.findFirstOrThrow({
      where: { experimentId: id, kind: 'train' },
    });
    assert.equal(rescued.worker, 'rescuer');
    assert.ok(killedAt >= 1);
    const result = await getJson<CellResult>(store, `cells/${cell.id}/result.json`);
    const local = await runLocally(services.root, resolved, cells);
    assert.deepEqual(
      [result.final.acc, result.final.reward, result.epochs.map((e) => e.meanLoss)],
      [
        local.results[0]!.final.acc,
        local.results[0]!.final.reward,
        local.results[0]!.epochs.map((e) => e.meanLoss),
      ],
    );
    console.log(
      `drill: worker SIGKILL | killed in epoch ${killedAt + 1} of ${epochs}; the rescuer trained ${rescuedSteps} of ${epochs * stepsPerEpoch} steps from the last checkpoint; ${steps} train/loss points, none lost or twice; final Acc, Reward and losses equal an uninterrupted run | pass`,
    );
  });

  it('SIGTERM releases the running cell at a step boundary; another worker resumes at that step', async () => {
    // Epochs long enough (250 steps) that the SIGTERM lands inside one, not between two.
    const epochs = 2;
    const stepsPerEpoch = 25 * 10;
    const { id, spec: resolved, cells } = await submit(spec(epochs, [7], 10));
    const cell = cells[0]!;
    const first = spawnWorker('leaving');
    await until('training to be under way', async () => {
      const steps = await services.db.metricPoint.count({
        where: { cellId: cell.id, name: 'train/loss' },
      });
      return steps >= 5;
    });
    process.kill(first.pid as number, 'SIGTERM');
    const released = await until('the checkpoint of the release', () =>
      maybeJson<{ partial?: { epoch: number; step: number } }>(
        store,
        `cells/${cell.id}/latest.json`,
      ).then((l) => (l?.partial ? l : null)),
    );
    await until('the leaving worker to exit', async () => first.exitCode !== null);
    spawnWorker('arriving');
    const experiment = await finished(id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const train = await services.db.stageJob.findFirstOrThrow({
      where: { experimentId: id, kind: 'train' },
    });
    assert.equal(train.worker, 'arriving');
    assert.ok(released.partial, 'the release left a checkpoint between two steps');
    const steps = await services.db.metricPoint.count({
      where: { cellId: cell.id, name: 'train/loss' },
    });
    assert.equal(steps, epochs * stepsPerEpoch, 'train/loss points, one per step');
    // The arriving worker trained exactly the steps after the release: none twice, none skipped.
    const done = released.partial.epoch * stepsPerEpoch + released.partial.step;
    assert.equal(
      await trainStepsOf(cell.id),
      epochs * stepsPerEpoch - done,
      'steps after the release',
    );
    const result = await getJson<CellResult>(store, `cells/${cell.id}/result.json`);
    const local = await runLocally(services.root, resolved, cells);
    assert.deepEqual(
      [result.final.acc, result.epochs.map((e) => e.meanLoss)],
      [local.results[0]!.final.acc, local.results[0]!.epochs.map((e) => e.meanLoss)],
    );
    console.log(
      `drill: worker SIGTERM | released at epoch ${released.partial.epoch + 1}, step ${released.partial.step}, resumed there on another worker, which trained the other ${epochs * stepsPerEpoch - done} of ${epochs * stepsPerEpoch} steps (none twice); numbers equal an uninterrupted run | pass`,
    );
  });

  it('a Redis restart mid-run loses no job and trains no cell twice', async () => {
    const epochs = 2;
    const { id, cells } = await submit(spec(epochs, [2, 3]));
    // A lock that outlives the outage, as in production (5 min): the drill is about Redis.
    spawnWorker('steady', { RDLAB_LOCK_DURATION_MS: '30000' });
    await until('training to start', () =>
      services.db.stageJob.findFirst({
        where: { experimentId: id, kind: 'train', state: 'active' },
      }),
    );
    await services.redis.stop();
    await new Promise((r) => setTimeout(r, 1000));
    services.redis = await startRedisServer({
      dataDir: join(services.root, 'redis'),
      port: services.redis.port,
    });
    const experiment = await finished(id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    for (const cell of cells) {
      const steps = await services.db.metricPoint.count({
        where: { cellId: cell.id, name: 'train/loss' },
      });
      assert.equal(steps, epochs * (400 / 8), `cell ${cell.id}: train/loss points, one per step`);
      // One run of its train job, and that run trained every step: none started again.
      const train = await services.db.stageJob.findFirstOrThrow({
        where: { experimentId: id, kind: 'train', cellId: cell.id },
      });
      assert.equal(train.attempts, 1, `cell ${cell.id}: runs of its train job`);
      assert.equal(await trainStepsOf(cell.id), steps, `cell ${cell.id}: steps of that run`);
    }
    const jobs = await services.db.stageJob.count({ where: { experimentId: id } });
    console.log(
      `drill: Redis restart | redis-server stopped for 1 s mid-training and restarted from its AOF; ${jobs} stage jobs, all done; ${cells.length} cells trained exactly once | pass`,
    );
  });
});
