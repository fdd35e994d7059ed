/**
 * The stages end to end on tiny models and the built-in demo corpus: content addressing (a
 * sweep samples each attribute once; a second run recomputes nothing), resuming a cell from its
 * checkpoint, and what the shards hold.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { initBackend } from '@rdlab/ml';
import { manifestKey } from '@rdlab/plan';
import { LocalDirectoryStore } from '@rdlab/store';
import {
  type BehaviorSample,
  decodeShard,
  epochSamples,
  MemoryMetrics,
  newCounters,
  prepareJob,
  reportJob,
  runSweep,
  type StageContext,
  shardJob,
  silentProgress,
  trainJob,
} from '../src/index.js';

const SPEC = `
name: tiny
datasets: [{ name: demo, source: builtin:demo, attributes: [negative, positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
rewardModel:
  model: { preset: cnn }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
dropout: [{ kind: none }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 2, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 10 }
evaluation: { prefixes: 12, examples: 2 }
seeds: [1, 2]
`;

async function context(
  root: string,
  signal?: AbortSignal,
): Promise<StageContext & { metrics: MemoryMetrics }> {
  return {
    store: new LocalDirectoryStore(join(root, 'store')),
    metrics: new MemoryMetrics(),
    progress: silentProgress,
    baseDir: root,
    workDir: join(root, 'tmp'),
    counters: newCounters(),
    ...(signal ? { signal } : {}),
  };
}

describe('a sweep in one process', () => {
  let root: string;
  let first: Awaited<ReturnType<typeof runSweep>>;
  let firstCounters: ReturnType<typeof newCounters>;
  const { spec, cells } = parseSweepSpec(SPEC);

  before(async () => {
    await initBackend();
    root = await mkdtemp(join(tmpdir(), 'rdlab-sweep-'));
    const ctx = await context(root);
    first = await runSweep(ctx, spec, cells);
    firstCounters = ctx.counters;
  });

  it('samples each (dataset, attribute) once for all its cells, in shards', () => {
    assert.equal(cells.length, 8);
    assert.equal(firstCounters.sampledSequences, 2 * 24 * 2);
    assert.equal(firstCounters.shardsWritten, 2 * 3);
    assert.equal(firstCounters.modelsTrained, 3); // tokenizer, β, R
    // One sample per prefix per epoch (24), full batches of 8 only.
    assert.equal(firstCounters.trainSteps, 8 * 2 * (24 / 8));
  });

  it('evaluates every cell with Acc and Reward in range and per-epoch records', () => {
    assert.equal(first.results.length, 8);
    for (const r of first.results) {
      assert.ok(r.final.acc > 0 && r.final.acc <= 1, `acc ${r.final.acc}`);
      assert.ok(r.final.reward >= 0 && r.final.reward <= 1);
      assert.equal(r.epochs.length, 2);
      assert.ok(r.start.acc > 0 && r.start.acc <= 1, 'the start point is evaluated');
      assert.equal(r.start.perSample.acc.length, 12);
      assert.ok(r.epochs.every((e) => e.train !== null && e.train.tokenAccuracy >= 0));
      assert.equal(r.final.perSample.acc.length, 12);
      assert.equal(r.final.examples.length, 2);
    }
    const quantile = first.results.find((r) => r.cell.dropout.kind === 'quantile')!;
    assert.ok(
      Math.abs(quantile.epochs[0]!.keptFraction - 0.5) < 0.1,
      'quantile 0.5 keeps about half of each batch',
    );
  });

  it('writes shards researchers can read: Arrow columns with the settings in the metadata', async () => {
    const ctx = await context(root);
    const key = first.datasets[0]!.shards.negative![0]!;
    const { samples, metadata } = decodeShard(await ctx.store.get(key));
    assert.equal(samples.length, 10 * 2);
    const s = samples[0]!;
    assert.equal(s.tokens.length - s.prefixLength, s.behaviorLogprobs.length);
    // Sampled at temperature 1 with no penalty: the sampling distribution is β's own.
    assert.deepEqual(s.samplingLogprobs, s.behaviorLogprobs);
    assert.equal(s.rewardLogits.length, 2);
    assert.ok(s.behaviorLikelihood > 0 && s.behaviorLikelihood <= 1);
    assert.equal(metadata.attribute, 'negative');
    assert.deepEqual(metadata.classes, ['negative', 'positive']);
  });

  it('recomputes nothing when the same spec runs again', async () => {
    const ctx = await context(root);
    const again = await runSweep(ctx, spec, cells);
    assert.deepEqual(ctx.counters, newCounters());
    assert.deepEqual(
      again.results.map((r) => r.final.accPlusReward),
      first.results.map((r) => r.final.accPlusReward),
    );
  });

  it('trains only the new cells when a dropout variant is added, and samples nothing', async () => {
    const bigger = parseSweepSpec(
      SPEC.replace('{ kind: quantile, gamma: 0.5 }]', '{ kind: quantile, gamma: [0.5, 0.75] }]'),
    );
    const ctx = await context(root);
    const run = await runSweep(ctx, bigger.spec, bigger.cells);
    assert.equal(ctx.counters.sampledSequences, 0);
    assert.equal(ctx.counters.modelsTrained, 0);
    assert.equal(ctx.counters.trainSteps, 4 * 2 * 3);
    assert.equal(run.results.length, 12);
  });

  it('gives the same numbers when run as independent jobs (prepare, shards, train) on a fresh store', async () => {
    const ctx = await context(await mkdtemp(join(tmpdir(), 'rdlab-jobs-')));
    const manifest = await prepareJob(ctx, spec, 'demo');
    assert.deepEqual(Object.keys(manifest.attributes), ['negative', 'positive']);
    assert.equal(await ctx.store.exists(manifestKey(spec, 'demo')), true);
    for (const [attribute, entry] of Object.entries(manifest.attributes)) {
      assert.equal(entry.shards.length, 3);
      for (const shard of entry.shards)
        assert.equal(await shardJob(ctx, spec, 'demo', attribute, shard.key), true);
    }
    const results = [];
    for (const cell of cells) results.push(await trainJob(ctx, spec, cell));
    assert.deepEqual(
      results.map((r) => [r.cell.id, r.final.acc, r.final.reward, r.start.acc]),
      first.results.map((r) => [r.cell.id, r.final.acc, r.final.reward, r.start.acc]),
    );
    assert.equal(
      await shardJob(ctx, spec, 'demo', 'negative', manifest.attributes.negative!.shards[0]!.key),
      false,
    );
    const report = await reportJob(
      ctx,
      spec,
      cells.map((c) => c.id),
      'experiments/e1',
    );
    assert.equal(report.variants.length, 4);
    assert.match(
      new TextDecoder().decode(await ctx.store.get('experiments/e1/report.html')),
      /<svg/,
    );
  });

  it('a released cell checkpoints between steps and resumes at that step to the same numbers', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'rdlab-release-'));
    const release = new AbortController();
    const ctx = { ...(await context(fresh)), release: release.signal };
    // Release the first cell after two steps of its first epoch (of three).
    const record = ctx.metrics.record.bind(ctx.metrics);
    ctx.metrics.record = (points) => {
      record(points);
      if (points.some((p) => p.stage === 'train' && p.step === 2)) release.abort();
    };
    await assert.rejects(runSweep(ctx, spec, cells), /released at epoch 1, step 2/);
    const resumed = await context(fresh);
    const run = await runSweep(resumed, spec, cells);
    assert.equal(
      resumed.counters.trainSteps,
      8 * 2 * 3 - 2,
      'the two steps before the release were kept',
    );
    assert.deepEqual(
      run.results.map((r) => [r.cell.id, r.final.acc, r.final.reward, r.epochs[0]!.meanLoss]),
      first.results.map((r) => [r.cell.id, r.final.acc, r.final.reward, r.epochs[0]!.meanLoss]),
    );
  });

  it('resumes an interrupted cell from its last epoch and ends where an uninterrupted run ends', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'rdlab-resume-'));
    const abort = new AbortController();
    const ctx = await context(fresh, abort.signal);
    // Interrupt the first cell right after its first epoch is evaluated.
    const record = ctx.metrics.record.bind(ctx.metrics);
    ctx.metrics.record = (points) => {
      record(points);
      if (points.some((p) => p.stage === 'eval' && p.epoch === 1)) abort.abort(new Error('killed'));
    };
    await assert.rejects(runSweep(ctx, spec, cells), /killed/);
    const resumed = await context(fresh);
    const run = await runSweep(resumed, spec, cells);
    assert.equal(
      resumed.counters.sampledSequences,
      24 * 2,
      'negative kept its shards; only positive, not reached before the kill, is sampled',
    );
    assert.equal(
      resumed.counters.trainSteps,
      8 * 2 * 3 - 3,
      'the first epoch of the first cell was not redone',
    );
    assert.deepEqual(
      run.results.map((r) => [r.cell.id, r.final.acc, r.final.reward]),
      first.results.map((r) => [r.cell.id, r.final.acc, r.final.reward]),
    );
  });
});

describe('samples per epoch', () => {
  const { spec } = parseSweepSpec(SPEC);
  const samples = [0, 1, 2].flatMap((prefixIndex) =>
    [0, 1].map((sampleIndex) => ({ prefixIndex, sampleIndex }) as BehaviorSample),
  );

  it("epoch e reads the e-th sample of every prefix (mod K), as the authors' generation files", () => {
    for (const [epoch, k] of [
      [0, 0],
      [1, 1],
      [2, 0],
    ] as const) {
      const chosen = epochSamples(samples, spec, epoch);
      assert.deepEqual(
        chosen.map((s) => [s.prefixIndex, s.sampleIndex]),
        [0, 1, 2].map((p) => [p, k]),
      );
    }
  });

  it("reads every sample every epoch with samplesPerEpoch: 'all'", () => {
    const all = { ...spec, training: { ...spec.training, samplesPerEpoch: 'all' as const } };
    assert.equal(epochSamples(samples, all, 1).length, 6);
  });
});
