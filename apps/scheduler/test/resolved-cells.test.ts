/**
 * Cells are resolved once, at submission: a running experiment keeps its cell ids and finishes
 * when the schema's defaults change under it. The newer schema is simulated by wrapping the
 * spec schema's parse so that it adds a default the submitted spec never had (as a release
 * adding a training setting would): anything that parsed and expanded the spec again would see
 * other cell ids. The real scheduler and stage runner run in this process, on tiny models.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expandSweep, type SweepSpec, sweepSpecSchema } from '@rdlab/core';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import { cellResultKey } from '@rdlab/plan';
import { LocalDirectoryStore } from '@rdlab/store';
import { runStage } from '@rdlab/worker';
import { Queue, Worker } from 'bullmq';
import { Scheduler } from '../src/reconciler.js';
import { finished, type Services, startServices, submit, tinySpec } from './harness.js';

describe('cells resolved at submission', { timeout: 600_000 }, () => {
  let services: Services;
  let store: LocalDirectoryStore;
  let queue: Queue;
  let worker: Worker;
  let scheduler: Scheduler;

  before(async () => {
    services = await startServices('resolved');
    await initBackend();
    store = new LocalDirectoryStore(join(services.root, 'artifacts'));
    queue = new Queue(QUEUES.stages, { connection: redisConnection(services.redis.url) });
    const { db, repos } = services;
    scheduler = new Scheduler(db, repos, store, queue);
    worker = new Worker(
      QUEUES.stages,
      (job) =>
        runStage(job.name as never, job.data, {
          store,
          repos,
          db,
          baseDir: services.root,
          workDir: join(services.root, 'work'),
        }),
      { connection: redisConnection(services.redis.url, { role: 'worker' }), concurrency: 1 },
    );
  });

  after(async () => {
    await worker?.close();
    await queue?.close();
    await services?.stop();
  });

  /** Ticks the scheduler until the experiment has finished. */
  const run = async (id: string) => {
    const ticking = setInterval(() => void scheduler.tick().catch(() => {}), 200);
    try {
      return await finished(services.db, id);
    } finally {
      clearInterval(ticking);
    }
  };

  it('keeps its cell ids and finishes when a schema default changes after submission', async () => {
    const { spec, id } = await submit(services.repos, tinySpec('resolved'));
    const submitted = (await services.repos.cells.listCells(id)).map((c) => c.id);

    // A newer schema: one more training setting, with a default.
    const { parse, safeParse } = sweepSpecSchema;
    let parses = 0;
    const newer = (value: SweepSpec) => ({
      ...value,
      training: { ...value.training, warmupSteps: 100 },
    });
    sweepSpecSchema.parse = ((input: unknown) => {
      parses += 1;
      return newer(parse.call(sweepSpecSchema, input));
    }) as typeof parse;
    sweepSpecSchema.safeParse = ((input: unknown) => {
      parses += 1;
      const result = safeParse.call(sweepSpecSchema, input);
      return result.success ? { ...result, data: newer(result.data) } : result;
    }) as typeof safeParse;
    try {
      const reparsed = expandSweep(sweepSpecSchema.parse(spec)).map((c) => c.id);
      assert.notDeepEqual(reparsed, submitted, 'the newer default changes the cell ids');
      parses = 0;

      const experiment = await run(id);
      assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
      assert.equal(parses, 0, 'the scheduler and the workers parsed the spec again');
    } finally {
      sweepSpecSchema.parse = parse;
      sweepSpecSchema.safeParse = safeParse;
    }
    const cells = await services.repos.cells.listCells(id);
    assert.deepEqual(
      cells.map((c) => c.id),
      submitted,
    );
    assert.ok(cells.every((c) => c.status === 'succeeded'));
    for (const cell of submitted) assert.ok(await store.exists(cellResultKey(cell)));
  });

  it('still runs an experiment stored before cells carried their settings', async () => {
    const { id, cells } = await submit(
      services.repos,
      tinySpec('before-settings', { seeds: [2] }),
      'lab',
      { settings: false },
    );
    assert.ok((await services.repos.cells.listCells(id)).every((c) => c.settings === null));
    const experiment = await run(id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    for (const cell of cells) assert.ok(await store.exists(cellResultKey(cell.id)));
  });
});
