import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type MetricPointInput,
  type MetricPointWriter,
  PostgresMetricsSink,
  Repositories,
} from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './helpers.js';

let pg: TestPostgres;
let teamId: string;
before(async () => {
  pg = await startTestPostgres();
  teamId = (await new Repositories(pg.db).teams.createTeam('metrics')).id;
});
after(async () => {
  await pg?.close();
});

async function newExperiment(): Promise<string> {
  const repos = new Repositories(pg.db);
  const { experiment } = await repos.experiments.createExperiment({
    teamId,
    name: 'm',
    specSubmitted: {},
    specResolved: {},
    cells: [],
  });
  return experiment.id;
}

const points = (n: number, from = 0): MetricPointInput[] =>
  Array.from({ length: n }, (_, i) => ({
    cell: 'c0',
    stage: 'train',
    epoch: 0,
    step: from + i,
    name: 'train/loss',
    value: 1 / (from + i + 1),
  }));

/** Writes through the real client, counting batch sizes; fails the first `failures` calls. */
function countingWriter(failures = 0) {
  const batches: number[] = [];
  let calls = 0;
  const writer: MetricPointWriter = {
    metricPoint: {
      createMany: async (args) => {
        if (calls++ < failures) throw new Error('connection refused');
        batches.push(args.data.length);
        return pg.db.metricPoint.createMany(args);
      },
    },
  };
  return { writer, batches, attempts: () => calls };
}

const steps = async (experimentId: string) =>
  (
    await pg.sql<{ step: number }>(
      'SELECT step FROM metric_points WHERE experiment_id = $1 ORDER BY id',
      [experimentId],
    )
  ).map((r) => r.step);

describe('PostgresMetricsSink', () => {
  it('writes N points in ceil(N / batchSize) inserts', async () => {
    const experimentId = await newExperiment();
    const { writer, batches } = countingWriter();
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 500,
      flushIntervalMs: 0,
    });
    for (let i = 0; i < 1234; i += 17) await sink.record(points(Math.min(17, 1234 - i), i));
    assert.deepEqual(batches, [500, 500]);
    assert.equal(sink.pending, 234);
    await sink.close();
    assert.deepEqual(batches, [500, 500, 234]);
    assert.equal(sink.pending, 0);
    assert.equal(sink.written, 1234);
    assert.deepEqual(
      await steps(experimentId),
      Array.from({ length: 1234 }, (_, i) => i),
    );
  });

  it('keeps the points of a failed write and retries them, in order, after a backoff', async () => {
    const experimentId = await newExperiment();
    const { writer, batches } = countingWriter(1);
    const errors: unknown[] = [];
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 500,
      flushIntervalMs: 0,
      retryDelayMs: 50,
      onError: (e) => errors.push(e),
    });
    await sink.record(points(600)); // the full batch's write fails: record does not throw
    assert.equal(errors.length, 1);
    assert.equal(sink.pending, 600);
    await sink.record(points(10, 600));
    assert.deepEqual(batches, [], 'no retry before the backoff has passed');
    await sleep(60);
    await sink.record([]);
    assert.deepEqual(batches, [500], 'retried by the first record() after the backoff');
    await sink.flush();
    assert.deepEqual(batches, [500, 110]);
    assert.equal(sink.pending, 0);
    assert.deepEqual(
      await steps(experimentId),
      Array.from({ length: 610 }, (_, i) => i),
    );
    await sink.close();
  });

  it('makes one write attempt per backoff while the database is down, not one per record()', async () => {
    const experimentId = await newExperiment();
    const { writer, batches, attempts } = countingWriter(Number.POSITIVE_INFINITY);
    const errors: unknown[] = [];
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 10,
      flushIntervalMs: 0,
      retryDelayMs: 60_000,
      maxRetryDelayMs: 60_000,
      closeTimeoutMs: 0,
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 100; i++) await sink.record(points(10, i * 10));
    assert.equal(attempts(), 1);
    assert.equal(errors.length, 1);
    assert.equal(sink.pending, 1000);
    assert.deepEqual(batches, []);
    await assert.rejects(sink.close(), { code: 'RDLAB_DB_METRICS_UNFLUSHED' });
  });

  it('stores a retried batch once when its first commit went through but the reply was lost', async () => {
    const experimentId = await newExperiment();
    let lost = 0;
    const writer: MetricPointWriter = {
      metricPoint: {
        createMany: async (args) => {
          const result = await pg.db.metricPoint.createMany(args);
          if (lost++ === 0) throw new Error('Connection terminated unexpectedly');
          return result;
        },
      },
    };
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 100,
      flushIntervalMs: 0,
      onError: () => {},
    });
    await sink.record(points(150)); // 100 committed, reply lost
    assert.equal(sink.pending, 150);
    await sink.flush(); // the same 100 again, then 50
    assert.equal(sink.pending, 0);
    assert.equal(sink.duplicates, 100);
    assert.deepEqual(
      await steps(experimentId),
      Array.from({ length: 150 }, (_, i) => i),
    );
    await sink.close();
  });

  it('past maxPendingPoints, record() waits for the database: the buffer stays bounded and nothing is dropped', async () => {
    const experimentId = await newExperiment();
    let down = true;
    let attempts = 0;
    const writer: MetricPointWriter = {
      metricPoint: {
        createMany: async (args) => {
          attempts++;
          if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
          return pg.db.metricPoint.createMany(args);
        },
      },
    };
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 10,
      maxPendingPoints: 100,
      flushIntervalMs: 0,
      retryDelayMs: 5,
      maxRetryDelayMs: 20,
      onError: () => {},
    });
    let recorded = 0;
    let peak = 0;
    const loop = (async () => {
      for (let i = 0; i < 30; i++) {
        await sink.record(points(10, i * 10));
        recorded = i + 1;
        peak = Math.max(peak, sink.pending);
      }
    })();
    await sleep(300);
    assert.equal(recorded, 9, 'the 10th record() reaches the bound and waits');
    assert.equal(sink.pending, 100);
    assert.ok(attempts >= 3, `${attempts} retries while waiting`);
    down = false;
    await loop;
    assert.ok(peak < 100, `pending peaked at ${peak} after a record() returned`);
    await sink.close();
    assert.deepEqual(
      await steps(experimentId),
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  it('close() retries with backoff until the database is back', async () => {
    const experimentId = await newExperiment();
    const { writer, attempts } = countingWriter(3);
    const errors: unknown[] = [];
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      flushIntervalMs: 0,
      retryDelayMs: 10,
      onError: (e) => errors.push(e),
    });
    await sink.record(points(5));
    await sink.close();
    assert.equal(attempts(), 4);
    assert.equal(errors.length, 3);
    assert.deepEqual(await steps(experimentId), [0, 1, 2, 3, 4]);
  });

  it('rejects flush() and close() while the database stays unreachable, keeping the points', async () => {
    const experimentId = await newExperiment();
    const { writer } = countingWriter(3);
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      flushIntervalMs: 0,
      closeTimeoutMs: 0,
      onError: () => {},
    });
    await sink.record(points(5));
    await assert.rejects(sink.flush(), /connection refused/);
    await assert.rejects(sink.close(), { code: 'RDLAB_DB_METRICS_UNFLUSHED' });
    assert.equal(sink.pending, 5);
    await assert.rejects(sink.close(), { code: 'RDLAB_DB_METRICS_UNFLUSHED' });
    await sink.flush(); // the fourth write succeeds
    assert.equal(sink.pending, 0);
    assert.equal((await steps(experimentId)).length, 5);
    await assert.rejects(sink.record(points(1)), { code: 'RDLAB_DB_METRICS_CLOSED' });
  });

  it('skips non-finite values and counts them', async () => {
    const experimentId = await newExperiment();
    const sink = new PostgresMetricsSink(pg.db, { experimentId, flushIntervalMs: 0 });
    const [a, b, c, d] = points(4);
    await sink.record([
      a!,
      { ...b!, value: Number.NaN },
      { ...c!, value: Number.POSITIVE_INFINITY },
      { ...d!, value: Number.NEGATIVE_INFINITY },
    ]);
    assert.equal(sink.skipped, 3);
    await sink.close();
    assert.deepEqual(await steps(experimentId), [0]);
  });

  it('flushes a partial batch every flushIntervalMs', async () => {
    const experimentId = await newExperiment();
    const sink = new PostgresMetricsSink(pg.db, { experimentId, flushIntervalMs: 50 });
    await sink.record(points(3));
    for (let i = 0; i < 100 && sink.pending > 0; i++) await sleep(20);
    assert.equal(sink.pending, 0);
    assert.deepEqual(await steps(experimentId), [0, 1, 2]);
    const [row] = await pg.sql(
      'SELECT cell_id, stage, epoch, name, value FROM metric_points WHERE experiment_id = $1 AND step = 1',
      [experimentId],
    );
    assert.deepEqual(row, {
      cell_id: 'c0',
      stage: 'train',
      epoch: 0,
      name: 'train/loss',
      value: 0.5,
    });
    await sink.close();
  });

  it('validates its options', () => {
    assert.throws(() => new PostgresMetricsSink(pg.db, { experimentId: '' }), {
      code: 'RDLAB_DB_INVALID_OPTIONS',
    });
    assert.throws(() => new PostgresMetricsSink(pg.db, { experimentId: 'e', batchSize: 0 }), {
      code: 'RDLAB_DB_INVALID_OPTIONS',
    });
    assert.throws(
      () => new PostgresMetricsSink(pg.db, { experimentId: 'e', flushIntervalMs: -1 }),
      { code: 'RDLAB_DB_INVALID_OPTIONS' },
    );
    for (const bad of [
      { batchSize: 10, maxPendingPoints: 9 },
      { retryDelayMs: 0 },
      { retryDelayMs: 100, maxRetryDelayMs: 50 },
      { closeTimeoutMs: -1 },
    ])
      assert.throws(() => new PostgresMetricsSink(pg.db, { experimentId: 'e', ...bad }), {
        code: 'RDLAB_DB_INVALID_OPTIONS',
      });
  });
});
