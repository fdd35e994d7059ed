import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gpt2ParameterCount, LM_PRESET_NAMES, LM_PRESETS, parseSweepSpec } from '@rdlab/core';
import { planSweep, presetFromName } from './plan.js';
import { formatDuration, formatPlan, secondsOnWorkers } from './plan-format.js';
import { THROUGHPUTS } from './throughputs.js';

/** 2 attributes × 3 dropout variants × 2 seeds = 12 cells; 100 prefixes in shards of 40. */
function small(overrides: { training?: object; targets?: object[]; behavior?: object } = {}) {
  return parseSweepSpec(
    JSON.stringify({
      datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['negative', 'positive'] }],
      behavior: overrides.behavior ?? { model: { preset: 'tiny' } },
      ...(overrides.targets ? { targets: overrides.targets } : {}),
      dropout: [{ kind: 'none' }, { kind: 'quantile', gamma: [0.5, 0.8] }],
      seeds: [1, 2],
      training: { batchSize: 32, epochs: 2, prefixLength: 4, maxLength: 20, ...overrides.training },
      bootstrap: { prefixesPerAttribute: 100, samplesPerPrefix: 3, shardSize: 40 },
      evaluation: { prefixes: 50, trainingSamples: 10 },
    }),
  );
}

function plan(overrides: Parameters<typeof small>[0] = {}) {
  const { spec, cells } = small(overrides);
  return planSweep(spec, cells);
}

const stage = (p: ReturnType<typeof plan>, name: string) => {
  const s = p.stages.find((x) => x.stage === name);
  assert.ok(s, name);
  return s;
};

const TINY = gpt2ParameterCount(LM_PRESETS.tiny);

describe('planSweep', () => {
  it('counts cells, shards with a remainder, samples and evaluations as computed by hand', () => {
    const p = plan();
    assert.equal(p.cells, 12);
    assert.equal(p.datasets, 1);
    assert.equal(p.attributes, 2);
    assert.equal(p.shards, 2 * 3); // ceil(100 / 40) per attribute
    assert.equal(p.samples, 2 * 100 * 3);
    assert.equal(p.evaluations, 12 * 3); // before epoch 1 and after each of 2
    assert.deepEqual(
      p.stages.map((s) => [s.stage, s.jobs]),
      [
        ['prepare', 1],
        ['bootstrap', 6],
        ['train', 12],
        ['evaluate', 12],
      ],
    );
  });

  it('counts steps with dropLastBatch true and false, one sample per prefix or all', () => {
    // one: 100 samples per epoch; all: 300. Batches of 32, 2 epochs, 12 cells.
    assert.equal(plan().trainingSteps, 12 * 2 * 3); // floor(100 / 32)
    assert.equal(plan({ training: { dropLastBatch: false } }).trainingSteps, 12 * 2 * 4);
    assert.equal(plan({ training: { samplesPerEpoch: 'all' } }).trainingSteps, 12 * 2 * 9);
    assert.equal(
      plan({ training: { samplesPerEpoch: 'all', dropLastBatch: false } }).trainingSteps,
      12 * 2 * 10,
    );
    assert.equal(plan().trainingTokens, 12 * 2 * 3 * 32 * 20);
    // The short last batch trains its 4 samples: every sample once per epoch.
    assert.equal(plan({ training: { dropLastBatch: false } }).trainingTokens, 12 * 2 * 100 * 20);
  });

  it("makes the train stage's FLOPs 6·N·tokens and bootstrap's decode 2·N·generated tokens", () => {
    const p = plan();
    assert.equal(stage(p, 'train').flops, 6 * TINY * p.trainingTokens);
    // β draws 600 training and 2 × 50 held-out samples of 16 new tokens each.
    assert.equal(stage(p, 'bootstrap').byKind?.decode, 2 * TINY * (600 + 100) * 16);
  });

  it('doubles the train time when the epochs double', () => {
    const one = plan();
    const two = plan({ training: { epochs: 4 } });
    for (const [i, e] of one.estimates.entries()) {
      const a = e.seconds.train;
      const b = two.estimates[i]?.seconds.train;
      assert.ok(a !== null && b !== null && b !== undefined);
      assert.ok(Math.abs(b - 2 * a) < 1e-9 * b, `${e.backend}: ${b} ≠ 2 × ${a}`);
    }
  });

  it('gives null for the stages of a checkpoint of unknown size, with an assumption saying why', () => {
    const p = plan({
      targets: [{ model: { checkpoint: 's3://models/my-own-lm' }, init: 'pretrained' }],
    });
    assert.equal(stage(p, 'train').flops, null);
    assert.equal(stage(p, 'evaluate').flops, null);
    assert.notEqual(stage(p, 'bootstrap').flops, null);
    for (const e of p.estimates) {
      assert.equal(e.seconds.train, null);
      assert.equal(e.totalSeconds, null);
      assert.notEqual(e.seconds.bootstrap, null);
    }
    assert.ok(p.assumptions.some((a) => /my-own-lm.*names no preset/.test(a)));
    assert.match(formatPlan(p), /unknown/);
  });

  it('sizes a checkpoint named after a preset', () => {
    const p = plan({
      behavior: { model: { checkpoint: 's3://models/gpt2-large-finetuned' } },
      targets: [{ model: { checkpoint: 's3://models/gpt2/' }, init: 'pretrained' }],
    });
    assert.deepEqual(
      p.models.map((m) => [m.role, m.parameters]),
      [
        ['behavior', gpt2ParameterCount(LM_PRESETS['gpt2-large'])],
        ['target', gpt2ParameterCount(LM_PRESETS.gpt2)],
        ['reward', p.models[2]?.parameters],
      ],
    );
    assert.equal(stage(p, 'prepare').jobs, 1); // R is still a preset to train
    assert.equal(
      presetFromName('hf/gpt2-small', LM_PRESET_NAMES, { 'gpt2-small': 'gpt2' }),
      'gpt2',
    );
    assert.equal(presetFromName('gpt2-xl-tuned', LM_PRESET_NAMES, { 'gpt2-xl': null }), null);
    assert.equal(presetFromName('distilgpt2', LM_PRESET_NAMES), null);
  });

  it('marks prepare a lower bound when the sentence count depends on the dataset', () => {
    const p = plan();
    assert.equal(stage(p, 'prepare').lowerBound, true);
    assert.ok(p.assumptions.some((a) => /depends on the dataset/.test(a)));
    assert.ok(p.estimates.every((e) => e.lowerBound));
  });

  it('is deterministic and JSON-serialisable', () => {
    const p = plan();
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
    assert.deepEqual(plan(), p);
  });

  it('divides stage time over workers, never below one job per worker', () => {
    const p = plan();
    const e = p.estimates[0];
    assert.ok(e);
    assert.ok(Math.abs((secondsOnWorkers(p, e, 1) ?? 0) - (e.totalSeconds ?? Number.NaN)) < 1e-9);
    // 6 shards and 12 cells: beyond 12 workers nothing is faster.
    assert.equal(secondsOnWorkers(p, e, 12), secondsOnWorkers(p, e, 100));
  });
});

describe('throughput table', () => {
  it('gives each backend positive rates with a date and a machine, references flagged', () => {
    for (const t of THROUGHPUTS) {
      for (const m of [t.trainFlops, t.decodeFlops]) {
        assert.ok(m.flopsPerS > 0, t.backend);
        assert.match(m.measuredOn, /^\d{4}-\d{2}-\d{2}$/);
        assert.ok(m.machine.length > 0 && m.how.length > 0);
      }
    }
    assert.deepEqual(
      THROUGHPUTS.map((t) => [t.backend, t.reference]),
      [
        ['native', false],
        ['wasm', false],
        ['cuda-h200-pytorch-reference', true],
      ],
    );
  });
});

describe('formatPlan', () => {
  it('writes durations in the unit a person reads', () => {
    assert.equal(formatDuration(null), 'unknown');
    assert.equal(formatDuration(0.25), '0.25 s');
    assert.equal(formatDuration(42), '42 s');
    assert.equal(formatDuration(12 * 60), '12 min');
    assert.equal(formatDuration(3 * 3600 + 20 * 60), '3 h 20 min');
    assert.equal(formatDuration(2.1 * 86_400), '2.1 d');
    assert.equal(formatDuration(14 * 30.44 * 86_400), '14 months');
    assert.equal(formatDuration(3.2 * 365.25 * 86_400), '3.2 years');
  });

  it('prints counts with thousands separators, job counts and the parallel lower bound', () => {
    const text = formatPlan(plan({ training: { samplesPerEpoch: 'all' } }), { workers: [8, 64] });
    assert.match(text, /12 cells over 1 dataset and 2 attributes/);
    assert.match(text, /behaviour samples\s+600\s+in 6 shards/);
    assert.match(text, /^bootstrap\s+6\s/m);
    assert.match(text, /on 8 workers/);
    assert.match(text, /on 64 workers/);
    assert.match(text, /lower bound/);
    const big = planSweep(small().spec, small().cells);
    big.samples = 3_000_000;
    assert.match(formatPlan(big), /3,000,000/);
  });
});
