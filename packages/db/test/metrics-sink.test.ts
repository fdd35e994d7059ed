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
  let failed = 0;
  const writer: MetricPointWriter = {
    metricPoint: {
      createMany: async (args) => {
        if (failed < failures) {
          failed++;
          throw new Error('connection refused');
        }
        batches.push(args.data.length);
        return pg.db.metricPoint.createMany(args);
      },
    },
  };
  return { writer, batches };
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

  it('keeps the points of a failed write and writes them, in order, on the next flush', async () => {
    const experimentId = await newExperiment();
    const { writer, batches } = countingWriter(1);
    const errors: unknown[] = [];
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      batchSize: 500,
      flushIntervalMs: 0,
      onError: (e) => errors.push(e),
    });
    await sink.record(points(600)); // the full batch's write fails: record does not throw
    assert.equal(errors.length, 1);
    assert.equal(sink.pending, 600);
    await sink.record(points(10, 600));
    assert.deepEqual(batches, [500], 'retried on the next full batch');
    await sink.flush();
    assert.deepEqual(batches, [500, 110]);
    assert.equal(sink.pending, 0);
    assert.deepEqual(
      await steps(experimentId),
      Array.from({ length: 610 }, (_, i) => i),
    );
    await sink.close();
  });

  it('rejects flush() and close() while the database stays unreachable, keeping the points', async () => {
    const experimentId = await newExperiment();
    const { writer } = countingWriter(3);
    const sink = new PostgresMetricsSink(writer, {
      experimentId,
      flushIntervalMs: 0,
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
  });
});
