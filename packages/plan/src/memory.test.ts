import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gpt2ParameterCount, LM_PRESETS, parseSweepSpec, resolveTarget } from '@rdlab/core';
import { GIB, lastBlockParameterCount } from './memory.js';
import { planSweep } from './plan.js';

function table1Like(
  limits: object = {},
  target: object = { model: { preset: 'gpt2' }, init: 'random' },
) {
  return parseSweepSpec(
    JSON.stringify({
      datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
      behavior: { model: { checkpoint: 's3://rdlab-models/opt-6.7b' } },
      targets: [target],
      dropout: [{ kind: 'none' }],
      bootstrap: { prefixesPerAttribute: 64, samplesPerPrefix: 1, shardSize: 64 },
      evaluation: { prefixes: 8 },
      limits,
    }),
  );
}

describe('plan: families and memory', () => {
  it('sizes the paper models by family: OPT-6.7B and XGLM-1.7B have their published parameter counts', () => {
    // facebook/opt-6.7b: 6.66e9 with the tied head; facebook/xglm-1.7B: 1.73e9.
    assert.ok(Math.abs(gpt2ParameterCount(LM_PRESETS['opt-6.7b']) / 6.658e9 - 1) < 0.001);
    assert.ok(Math.abs(gpt2ParameterCount(LM_PRESETS['xglm-1.7b']) / 1.733e9 - 1) < 0.002);
  });

  it('prices β OPT-6.7B from a checkpoint reference it cannot reach, by its name', () => {
    const { spec, cells } = table1Like();
    const p = planSweep(spec, cells);
    const beta = p.models.find((m) => m.role === 'behavior');
    assert.equal(beta?.parameters, gpt2ParameterCount(LM_PRESETS['opt-6.7b']));
    const native = p.memory.find((m) => m.engine === 'native');
    assert.ok(native);
    // β at 4 bytes, π GPT-2 at 4 (weights) + 12 (grads, m, v) bytes, plus R and activations.
    // init: random on a preset takes β's vocabulary (OPT's 50,272 rows).
    const Np = gpt2ParameterCount({ ...LM_PRESETS.gpt2, vocab_size: 50272 });
    assert.equal(native.behavior, gpt2ParameterCount(LM_PRESETS['opt-6.7b']) * 4);
    assert.equal(native.targetWeights + native.targetTrainingState, Np * 16);
    assert.equal(p.memory.find((m) => m.engine === 'cuda')?.runs, false, 'CUDA runs GPT-2 only');
    assert.deepEqual(p.problems, []);
  });

  it('refuses a cell that fits no engine in limits.workerMemoryGiB, naming the target', () => {
    const { spec, cells } = table1Like({ workerMemoryGiB: 8 });
    const p = planSweep(spec, cells);
    assert.equal(p.problems.length, 1);
    assert.equal(p.problems[0]?.path, '/targets/0');
    assert.match(p.problems[0]?.message ?? '', /limits\.workerMemoryGiB 8/);
    const roomy = table1Like({ workerMemoryGiB: 40 });
    const fits = planSweep(roomy.spec, roomy.cells);
    assert.deepEqual(fits.problems, []);
    assert.ok((fits.memory[0]?.bytes ?? 0) > 8 * GIB);
  });

  it('OPT-6.7B and XGLM-1.7B targets train only their last block by default; a spec may say otherwise', () => {
    const beta = { preset: 'small' } as const;
    const t = (model: object, extra: object = {}) =>
      resolveTarget({ model, init: 'random', ...extra } as never, beta).freezeAllButLastBlock;
    assert.equal(t({ preset: 'opt-6.7b' }), true);
    assert.equal(t({ checkpoint: 's3://m/xglm-1.7b/' }), true);
    assert.equal(t({ preset: 'gpt2' }), false);
    assert.equal(t({ preset: 'opt-6.7b' }, { freezeAllButLastBlock: false }), false);
    const { spec, cells } = table1Like({}, { model: { preset: 'opt-6.7b' }, init: 'random' });
    const m = planSweep(spec, cells).memory.find((x) => x.engine === 'native');
    assert.equal(m?.targetTrainingState, lastBlockParameterCount(LM_PRESETS['opt-6.7b']) * 12);
  });
});
