import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { type ClassifierConfig, createRng, type Gpt2Config } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { addonCheckCases, runAddonChecks } from '../addon-checks.js';
import { initBackend } from '../backend.js';
import { initClassifierParameters } from '../classifier/params.js';
import { TfjsCnnClassifier } from '../classifier/tfjs-cnn.js';
import { engineDecoderConfig } from '../flat-gpt2.js';
import { readGpt2Checkpoint } from '../gpt2/checkpoint-files.js';
import { initGpt2Parameters } from '../gpt2/params.js';
import { TfjsGpt2 } from '../gpt2/tfjs-gpt2.js';
import { generate } from '../sampler.js';
import { sharedPath, skipWithout } from '../test-support.js';
import type { NativeGpt2Handle } from './addon.js';
import { ADDON_PATH, blasCoreType, loadAddon } from './addon.js';
import { NativeCnnClassifier } from './native-cnn.js';
import { NativeGpt2 } from './native-gpt2.js';

const skip = existsSync(ADDON_PATH)
  ? false
  : 'the native addon is not built (npm run build:native)';
const CONFIG: Gpt2Config = {
  vocab_size: 97,
  n_positions: 24,
  n_embd: 32,
  n_layer: 2,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
};
const CNN: ClassifierConfig = {
  embedDim: 12,
  kernelSizes: [2, 3],
  filters: 8,
  maxLength: 20,
  dropout: 0,
};

function randomBatch(seed: number, B: number, T: number, V: number) {
  const rng = createRng(seed);
  return { ids: Int32Array.from({ length: B * T }, () => rng.int(V)), batchSize: B, length: T };
}

function maxRelativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs((a[i] as number) - (b[i] as number)));
    den = Math.max(den, Math.abs(b[i] as number));
  }
  return num / Math.max(den, 1e-12);
}

describe('native engine', { skip }, () => {
  before(async () => {
    await initBackend('native');
  });

  it('equals the tfjs GPT-2: logits to 1e-4, gradients to 1e-3 relative', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(1));
    for (const t of parameters.values())
      for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * 5;
    const native = new NativeGpt2(CONFIG, parameters);
    const reference = new TfjsGpt2(CONFIG, parameters);
    const batch = randomBatch(2, 3, 12, CONFIG.vocab_size);
    const a = native.logits(batch);
    const b = reference.logits(batch);
    for (let i = 0; i < a.length; i++)
      assert.ok(
        Math.abs((a[i] as number) - (b[i] as number)) < 1e-4,
        `logit ${i}: ${a[i]} vs ${b[i]}`,
      );
    const mask = Float32Array.from({ length: 36 }, (_, i) => (i % 12 >= 3 && i % 12 < 10 ? 1 : 0));
    const coefficients = () => [0.8, -1.2, 2.0];
    const ng = native.lossAndGradients(batch, mask, coefficients);
    const rg = reference.lossAndGradients(batch, mask, coefficients);
    assert.ok(
      Math.abs(ng.loss - rg.loss) < 1e-4 * Math.max(1, Math.abs(rg.loss)),
      `loss ${ng.loss} vs ${rg.loss}`,
    );
    for (const [name, g] of rg.gradients) {
      const err = maxRelativeError(ng.gradients.get(name)!.data, g.dataSync() as Float32Array);
      assert.ok(err < 1e-3, `${name}: relative error ${err}`);
      g.dispose();
    }
    native.dispose();
    reference.dispose();
  });

  it('reproduces the tiny-gpt2 reference to 1e-4', {
    skip: skipWithout(sharedPath('fixtures', 'tiny-gpt2'), 'fixtures/tiny-gpt2'),
  }, async () => {
    const dir = sharedPath('fixtures', 'tiny-gpt2')!;
    const { config, parameters } = await readGpt2Checkpoint(dir);
    const model = new NativeGpt2(config, parameters);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
      cases: Array<{ ids: number[]; token_logprobs: number[] }>;
    };
    for (const c of reference.cases) {
      const logp = model.tokenLogprobs({
        ids: Int32Array.from(c.ids),
        batchSize: 1,
        length: c.ids.length,
      });
      c.token_logprobs.forEach((expected, i) => {
        assert.ok(Math.abs((logp[i + 1] as number) - expected) < 1e-4);
      });
    }
    model.dispose();
  });

  it('decodes with the KV cache exactly as it recomputes, and samples like the tfjs engine', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(3));
    const native = new NativeGpt2(CONFIG, parameters);
    const reference = new TfjsGpt2(CONFIG, parameters);
    const prefixes = randomBatch(4, 4, 4, CONFIG.vocab_size).ids;
    const options = { maxLength: 20, temperature: 0.7, topK: 20, repetitionPenalty: 1.2, eosId: 0 };
    const cached = generate(native, prefixes, 4, { ...options, rng: createRng(5) });
    const recomputed = generate(native, prefixes, 4, {
      ...options,
      rng: createRng(5),
      cache: false,
    });
    const tfjs = generate(reference, prefixes, 4, { ...options, rng: createRng(5) });
    assert.deepEqual(cached.ids, recomputed.ids);
    assert.deepEqual(cached.ids, tfjs.ids);
    for (let i = 0; i < cached.tokenLogprobs.length; i++)
      assert.ok(
        Math.abs((cached.tokenLogprobs[i] as number) - (tfjs.tokenLogprobs[i] as number)) < 1e-4,
      );
    native.dispose();
    reference.dispose();
  });

  it('chooses tokens in C++ exactly as sampler.ts does on the same logits, and leaves the generator where it would', () => {
    // A vocabulary large enough that rows are chosen in parallel (B·V past the threading floor).
    const config = { ...CONFIG, vocab_size: 4096 };
    const native = new NativeGpt2(config, initGpt2Parameters(config, createRng(6)));
    const prefixes = randomBatch(7, 16, 3, config.vocab_size).ids;
    const settings = [
      { temperature: 1, topK: 0, repetitionPenalty: 1 }, // the model's own distribution
      { temperature: 0.7, topK: 50, repetitionPenalty: 1.3 },
      { temperature: 1.4, topK: 0, repetitionPenalty: 1 },
      { temperature: 0, topK: 0, repetitionPenalty: 1.5 }, // greedy: no draws
    ];
    const run = (
      s: (typeof settings)[number],
      eosId: number,
      seed: number,
      engineChoice: boolean,
    ) => {
      const rng = createRng(8, seed);
      const gen = generate(native, prefixes, 16, { ...s, maxLength: 22, eosId, rng, engineChoice });
      return { gen, next: rng.uniform() };
    };
    for (const [i, s] of settings.entries()) {
      // Without an end, then with the token drawn most often as the end, so rows stop early and
      // the draws of finished rows are skipped.
      const free = run(s, -1, i, false).gen;
      const counts = new Map<number, number>();
      free.ids.forEach((id, j) => {
        if (free.mask[j]) counts.set(id, (counts.get(id) ?? 0) + 1);
      });
      const frequent = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
      for (const eosId of [-1, frequent]) {
        const inEngine = run(s, eosId, i, true);
        const inJs = run(s, eosId, i, false);
        const label = `${JSON.stringify(s)}, eos ${eosId}`;
        assert.deepEqual(inEngine.gen.ids, inJs.gen.ids, label);
        assert.deepEqual(inEngine.gen.mask, inJs.gen.mask, label);
        const { tokenLogprobs, samplingLogprobs } = inJs.gen;
        assert.ok(maxRelativeError(inEngine.gen.tokenLogprobs, tokenLogprobs) < 1e-6, label);
        assert.ok(maxRelativeError(inEngine.gen.samplingLogprobs, samplingLogprobs) < 1e-6, label);
        assert.equal(inEngine.next, inJs.next, `${label}: the generator goes on where it would`);
      }
      assert.ok(run(s, frequent, i, true).gen.mask.includes(0, 3), 'some row ended early');
    }
    // The last token is chosen, never fed: n_positions + 1 tokens fit, as in sampler.ts.
    const longest = { maxLength: config.n_positions + 1, eosId: -1 };
    assert.deepEqual(
      generate(native, prefixes, 16, { ...longest, rng: createRng(9) }).ids,
      generate(native, prefixes, 16, { ...longest, rng: createRng(9), engineChoice: false }).ids,
    );
    assert.throws(
      () => generate(native, prefixes, 16, { maxLength: 99, eosId: 0, rng: createRng(1) }),
      /maxLength 99 needs 98 positions, the model has 24/,
    );
    native.dispose();
  });

  it('trains reproducibly: the same seed gives bit-identical parameters run to run', () => {
    const run = () => {
      const model = new NativeGpt2(CONFIG, initGpt2Parameters(CONFIG, createRng(6)));
      for (let s = 0; s < 5; s++) {
        const batch = randomBatch(10 + s, 8, 16, CONFIG.vocab_size);
        model.trainStep(batch, new Float32Array(8 * 16).fill(1), () => new Array(8).fill(1), {
          learningRate: 1e-3,
        });
      }
      const p = model.getParameters();
      model.dispose();
      return p;
    };
    const a = run();
    const b = run();
    for (const [name, t] of a) assert.deepEqual(b.get(name)?.data, t.data, name);
  });

  it('allocates gradients and Adam state on the first step; a frozen model never does and refuses to train', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(6));
    const batch = randomBatch(10, 4, 12, CONFIG.vocab_size);
    const mask = new Float32Array(4 * 12).fill(1);
    const ones = () => new Array(4).fill(1);
    const trainable = new NativeGpt2(CONFIG, parameters);
    const frozen = new NativeGpt2(CONFIG, parameters, { frozen: true });
    assert.equal(trainable.frozen, false);
    assert.equal(frozen.frozen, true);
    // Lazy: a model that has only scored holds no training state, frozen or not.
    trainable.tokenLogprobs(batch);
    assert.equal(trainable.trainingStateBytes(), 0);
    trainable.trainStep(batch, mask, ones, { learningRate: 1e-3 });
    const numParams = [...parameters.values()].reduce((n, t) => n + t.data.length, 0);
    assert.equal(trainable.trainingStateBytes(), 3 * 4 * numParams); // grads, m, v in fp32

    // The frozen model scores, decodes and samples exactly as the trainable one did before its step.
    const before = new NativeGpt2(CONFIG, parameters);
    assert.deepEqual(frozen.tokenLogprobs(batch), before.tokenLogprobs(batch));
    assert.deepEqual(frozen.logits(batch), before.logits(batch));
    const d = frozen.decoder(2);
    d.next(batch.ids.subarray(0, 2), 1);
    d.dispose();
    for (const call of [
      () => frozen.trainStep(batch, mask, ones, { learningRate: 1e-3 }),
      () => frozen.gradientNorms(batch, mask, ones),
      () => frozen.setOptimizerState(trainable.getOptimizerState()),
    ])
      assert.throws(call, /loaded frozen/);
    // The addon refuses too, whatever the wrapper does.
    const handle = (frozen as unknown as { handle: NativeGpt2Handle }).handle;
    handle.forward(batch.ids, mask, 4, 12);
    assert.throws(() => handle.backward(new Float32Array(4).fill(1), new Uint8Array(0)), /frozen/);
    assert.throws(() => handle.getGrads(), /frozen/);
    assert.equal(frozen.trainingStateBytes(), 0);
    assert.deepEqual(frozen.getOptimizerState(), { step: 0, m: new Map(), v: new Map() });
    for (const m of [trainable, frozen, before]) m.dispose();
  });

  it('follows the tfjs trajectory over Adam steps, and freezes all but the last block on request', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(7));
    const native = new NativeGpt2(CONFIG, parameters);
    const reference = new TfjsGpt2(CONFIG, parameters);
    const last = [
      'h.1.ln_1.weight',
      'h.1.attn.c_attn.weight',
      'h.1.mlp.c_fc.weight',
      'ln_f.weight',
    ];
    native.setTrainable(last);
    reference.setTrainable(last);
    for (let s = 0; s < 3; s++) {
      const batch = randomBatch(20 + s, 4, 10, CONFIG.vocab_size);
      const mask = new Float32Array(40).fill(1);
      native.trainStep(batch, mask, () => [1, 0.5, 2, 1], { learningRate: 1e-2 });
      reference.trainStep(batch, mask, () => [1, 0.5, 2, 1], { learningRate: 1e-2 });
    }
    const np = native.getParameters();
    const rp = reference.getParameters();
    // Adam divides by √v, so gradients equal to 1e-6 can still move a near-zero entry by a step
    // of either sign: the trajectory agrees to 5e-3 of the largest weight, not 1e-3.
    for (const [name, t] of rp)
      assert.ok(maxRelativeError(np.get(name)!.data, t.data) < 5e-3, name);
    assert.deepEqual(
      np.get('h.0.mlp.c_fc.weight')?.data,
      parameters.get('h.0.mlp.c_fc.weight')?.data,
    );
    assert.notDeepEqual(
      np.get('h.1.mlp.c_fc.weight')?.data,
      parameters.get('h.1.mlp.c_fc.weight')?.data,
    );
    native.dispose();
    reference.dispose();
  });

  it('equals the tfjs reward classifier in logits and in training', () => {
    const V = 50;
    const parameters = initClassifierParameters(CNN, V, 3, createRng(8));
    const native = new NativeCnnClassifier(CNN, V, 3, parameters);
    const reference = new TfjsCnnClassifier(CNN, V, 3, parameters);
    const batch = randomBatch(9, 6, 14, V);
    const lengths = Int32Array.from([14, 3, 1, 9, 12, 2]);
    const a = native.logits(batch, lengths);
    const b = reference.logits(batch, lengths);
    for (let i = 0; i < a.length; i++)
      assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-4);
    const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
    for (let s = 0; s < 3; s++) {
      const la = native.trainStep(
        batch,
        lengths,
        labels,
        { learningRate: 1e-2 },
        createRng(s),
      ).loss;
      const lb = reference.trainStep(
        batch,
        lengths,
        labels,
        { learningRate: 1e-2 },
        createRng(s),
      ).loss;
      assert.ok(Math.abs(la - lb) < 1e-4, `step ${s}: ${la} vs ${lb}`);
    }
    native.dispose();
    reference.dispose();
  });

  it('keeps resident memory flat over 1,000 training steps and leaves tfjs tensors alone', () => {
    const model = new NativeGpt2(CONFIG, initGpt2Parameters(CONFIG, createRng(11)));
    const mask = new Float32Array(16 * 20).fill(1);
    const ones = () => new Array(16).fill(1);
    const step = (s: number) =>
      model.trainStep(randomBatch(s, 16, 20, CONFIG.vocab_size), mask, ones, {
        learningRate: 1e-4,
      });
    for (let s = 0; s < 100; s++) step(s);
    const tensors = tf.memory().numTensors;
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    for (let s = 0; s < 1000; s++) {
      step(s);
      if (s % 100 === 0)
        generate(model, randomBatch(s, 8, 4, CONFIG.vocab_size).ids, 8, {
          maxLength: 16,
          eosId: 0,
          rng: createRng(s),
        });
    }
    global.gc?.();
    const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // A leak of one step's activations (≈ 2 MB here) per step would grow RSS by gigabytes.
    assert.ok(grownMb < 64, `RSS grew by ${grownMb.toFixed(1)} MB over 1,000 steps`);
    assert.equal(tf.memory().numTensors, tensors);
    model.dispose();
  });

  it('checks every length a caller passes in C++, naming the argument (not trusting the wrapper)', () => {
    const parameters = initGpt2Parameters(CONFIG, createRng(11));
    const model = new NativeGpt2(CONFIG, parameters);
    const handle = (model as unknown as { handle: NativeGpt2Handle }).handle;
    const open = (flat: Float32Array) =>
      new (loadAddon().NativeGpt2)(engineDecoderConfig(CONFIG), flat);
    const tensors = (model as unknown as { shapes: unknown[] }).shapes.length;
    const cases = addonCheckCases(
      'native',
      handle,
      { V: CONFIG.vocab_size, P: CONFIG.n_positions, tensors, numParams: handle.numParams() },
      open,
    );
    for (const r of runAddonChecks(cases)) assert.ok(r.pass, `${r.name}: ${r.message}`);
    // The model still works after every refusal.
    const logp = model.tokenLogprobs(randomBatch(12, 2, 5, CONFIG.vocab_size));
    assert.ok(logp.every(Number.isFinite));
    model.dispose();
  });

  it('picks OpenBLAS kernels from the CPU flags', () => {
    assert.equal(
      blasCoreType('flags\t\t: fpu sse2 avx2 fma avx512f avx512bw avx512vl avx512dq avx512cd'),
      'SkylakeX',
    );
    assert.equal(blasCoreType('flags\t\t: fpu sse2 avx avx2 fma'), 'Haswell');
    assert.equal(blasCoreType('flags\t\t: fpu sse2'), null);
  });
});
