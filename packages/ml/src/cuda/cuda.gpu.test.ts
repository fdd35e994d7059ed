/**
 * The CUDA engine on a GPU (excluded from CI by its name: .ci/test.mjs skips *.gpu.test.ts; run it
 * with `node .ci/test.mjs packages/ml/src/cuda/cuda.gpu.test.ts` where `rdlab doctor` shows a
 * device). The device check (packages/ml/device) runs the same checks without node_modules.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createRng, type Gpt2Config } from '@rdlab/core';
import { maxRelativeError, referenceSample } from '../../device/check.js';
import { initBackend } from '../backend.js';
import { readGpt2Checkpoint } from '../gpt2/checkpoint-files.js';
import { initGpt2Parameters, lastBlockParameterNames } from '../gpt2/params.js';
import { TfjsGpt2 } from '../gpt2/tfjs-gpt2.js';
import { sharedPath, skipWithout } from '../test-support.js';
import { cudaStatus } from './addon.js';
import { CudaGpt2 } from './cuda-gpt2.js';

const status = cudaStatus();
const skip = status.available ? false : `no GPU: ${status.reason}`;
const CONFIG: Gpt2Config = {
  vocab_size: 97,
  n_positions: 24,
  n_embd: 32,
  n_layer: 2,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
};

function randomIds(seed: number, n: number, V: number): Int32Array {
  const rng = createRng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
}

describe('cuda engine on a GPU', { skip }, () => {
  before(async () => {
    await initBackend('wasm', () => {}); // the tfjs reference
  });

  it('equals the tfjs GPT-2: logits to 1e-4, gradients to 1e-3 relative', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(1));
    for (const t of parameters.values())
      for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * 5;
    const cuda = new CudaGpt2(CONFIG, parameters, 'fp32');
    const reference = new TfjsGpt2(CONFIG, parameters);
    const batch = { ids: randomIds(2, 36, CONFIG.vocab_size), batchSize: 3, length: 12 };
    assert.ok(maxRelativeError(cuda.logits(batch), reference.logits(batch)) < 1e-4);
    const mask = Float32Array.from({ length: 36 }, (_, i) => (i % 12 >= 3 && i % 12 < 10 ? 1 : 0));
    const coefficients = () => [0.8, -1.2, 2.0];
    const mine = cuda.lossAndGradients(batch, mask, coefficients);
    const theirs = reference.lossAndGradients(batch, mask, coefficients);
    assert.ok(Math.abs(mine.loss - theirs.loss) < 1e-4 * Math.max(1, Math.abs(theirs.loss)));
    for (const [name, g] of theirs.gradients) {
      const err = maxRelativeError(mine.gradients.get(name)!.data, g.dataSync() as Float32Array);
      assert.ok(err < 1e-3, `${name}: relative error ${err}`);
      g.dispose();
    }
    cuda.dispose();
    reference.dispose();
  });

  it('reproduces the tiny-gpt2 reference to 1e-4', {
    skip: skipWithout(sharedPath('fixtures', 'tiny-gpt2'), 'fixtures/tiny-gpt2'),
  }, async () => {
    const dir = sharedPath('fixtures', 'tiny-gpt2')!;
    const { config, parameters } = await readGpt2Checkpoint(dir);
    const model = new CudaGpt2(config, parameters, 'fp32');
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
      cases: Array<{ ids: number[]; token_logprobs: number[] }>;
    };
    for (const c of reference.cases) {
      const ids = Int32Array.from(c.ids);
      const logp = model.tokenLogprobs({ ids, batchSize: 1, length: ids.length });
      c.token_logprobs.forEach((x, i) => {
        assert.ok(Math.abs((logp[i + 1] as number) - x) < 1e-4);
      });
    }
    model.dispose();
  });

  it('samples on the GPU exactly as sampleRow on its logits, generator state included', () => {
    const model = new CudaGpt2(CONFIG, initGpt2Parameters(CONFIG, createRng(3)), 'fp32');
    const prefixes = randomIds(4, 8 * 3, CONFIG.vocab_size);
    for (const o of [
      { temperature: 0.7, topK: 20, repetitionPenalty: 1.2, eosId: 0, maxLength: 20 },
      { temperature: 0, topK: 0, repetitionPenalty: 1.3, eosId: 0, maxLength: 20 },
      { temperature: 1, topK: 0, repetitionPenalty: 1, eosId: -1, maxLength: 20 },
    ]) {
      const rngState = createRng(5).getState();
      const reference = createRng(5);
      const got = model.sample(prefixes, 8, { ...o, rngState });
      const want = referenceSample(model, prefixes, 8, o, reference);
      assert.deepEqual(got.ids, want.ids);
      assert.deepEqual(got.mask, want.mask);
      assert.deepEqual([...rngState], [...reference.getState()]);
      assert.ok(maxRelativeError(got.tokenLogprobs, want.tokenLogprobs) < 1e-5);
    }
    model.dispose();
  });

  it('freezing all but the last block leaves the rest untouched and its gradients unchanged', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(6));
    const batch = { ids: randomIds(7, 4 * 10, CONFIG.vocab_size), batchSize: 4, length: 10 };
    const mask = new Float32Array(40).fill(1);
    const ones = () => [1, 1, 1, 1];
    const all = new CudaGpt2(CONFIG, parameters, 'fp32');
    const full = all.gradientNorms(batch, mask, ones).gradientNorms;
    all.dispose();
    const model = new CudaGpt2(CONFIG, parameters, 'fp32');
    const names = lastBlockParameterNames(CONFIG);
    model.setTrainable(names);
    const last = model.gradientNorms(batch, mask, ones).gradientNorms;
    assert.deepEqual(Object.keys(last).sort(), [...names].sort());
    for (const n of names)
      assert.ok(Math.abs((last[n] as number) - (full[n] as number)) < 1e-5 * (full[n] as number));
    model.trainStep(batch, mask, ones, { learningRate: 1e-2 });
    const after = model.getParameters();
    for (const [name, t] of parameters)
      assert.equal(
        t.data.every((x, i) => x === after.get(name)?.data[i]),
        !names.includes(name),
        name,
      );
    model.dispose();
  });
});
