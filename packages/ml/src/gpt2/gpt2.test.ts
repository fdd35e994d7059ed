import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createRng, type Gpt2Config } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import { createLanguageModel, randomLanguageModel } from '../models.js';
import { generate } from '../sampler.js';
import { sharedPath, skipWithout } from '../test-support.js';
import { readGpt2Checkpoint, writeGpt2Checkpoint } from './checkpoint-files.js';
import { initGpt2Parameters } from './params.js';

const TINY: Gpt2Config = {
  vocab_size: 50,
  n_positions: 16,
  n_embd: 16,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};
const fixture = sharedPath('fixtures', 'tiny-gpt2');

function randomIds(rng: ReturnType<typeof createRng>, n: number, vocab: number) {
  return Int32Array.from({ length: n }, () => rng.int(vocab));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`GPT-2 on tfjs ${backend}`, () => {
    before(async () => {
      await initBackend(backend);
    });

    it('reproduces the tiny-gpt2 reference log-probabilities and logits to 1e-4', {
      skip: skipWithout(fixture, 'fixtures/tiny-gpt2'),
    }, async () => {
      const { config, parameters } = await readGpt2Checkpoint(fixture!);
      const model = createLanguageModel(config, parameters);
      const reference = JSON.parse(readFileSync(join(fixture!, 'reference.json'), 'utf8')) as {
        cases: Array<{ ids: number[]; token_logprobs: number[]; last_logits_first8: number[] }>;
      };
      for (const c of reference.cases) {
        const batch = { ids: Int32Array.from(c.ids), batchSize: 1, length: c.ids.length };
        const logp = model.tokenLogprobs(batch);
        c.token_logprobs.forEach((expected, i) => {
          assert.ok(
            Math.abs((logp[i + 1] as number) - expected) < 1e-4,
            `logprob ${i}: ${logp[i + 1]} vs ${expected}`,
          );
        });
        const logits = model.logits(batch);
        const last = (c.ids.length - 1) * config.vocab_size;
        c.last_logits_first8.forEach((expected, i) => {
          assert.ok(Math.abs((logits[last + i] as number) - expected) < 1e-4);
        });
      }
      model.dispose();
    });

    it('gives cached decoding the same logits as a full recompute, to 1e-4', () => {
      const model = randomLanguageModel(TINY, 1);
      const rng = createRng(2);
      const B = 3;
      const ids = randomIds(rng, B * 10, TINY.vocab_size);
      const full = model.logits({ ids, batchSize: B, length: 10 });
      const decoder = model.decoder(B);
      const V = TINY.vocab_size;
      const prefix = new Int32Array(B * 4);
      for (let b = 0; b < B; b++) prefix.set(ids.subarray(b * 10, b * 10 + 4), b * 4);
      let last = decoder.next(prefix, 4);
      for (let t = 4; t <= 10; t++) {
        for (let b = 0; b < B; b++) {
          for (let v = 0; v < V; v++) {
            const expected = full[(b * 10 + t - 1) * V + v] as number;
            assert.ok(
              Math.abs((last[b * V + v] as number) - expected) < 1e-4,
              `t=${t} b=${b} v=${v}`,
            );
          }
        }
        if (t === 10) break;
        last = decoder.next(
          Int32Array.from({ length: B }, (_, b) => ids[b * 10 + t] as number),
          1,
        );
      }
      decoder.dispose();
      model.dispose();
    });

    it('generates the same tokens with and without the cache, seeded', () => {
      const model = randomLanguageModel(TINY, 3);
      const prefixes = randomIds(createRng(4), 4 * 3, TINY.vocab_size);
      const options = { maxLength: 12, temperature: 1, eosId: 0 };
      const a = generate(model, prefixes, 4, { ...options, rng: createRng(9) });
      const b = generate(model, prefixes, 4, { ...options, rng: createRng(9), cache: false });
      assert.deepEqual(a.ids, b.ids);
      model.dispose();
    });

    it('matches a finite-difference gradient of the weighted loss', () => {
      const config = { ...TINY, vocab_size: 12, n_embd: 8, n_positions: 8 };
      const parameters = initGpt2Parameters(config, createRng(5));
      // Weights 4× GPT-2's init make the loss curvy enough to test.
      for (const t of parameters.values())
        for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * 4;
      const model = createLanguageModel(config, parameters);
      const rng = createRng(6);
      const B = 2;
      const T = 6;
      const batch = { ids: randomIds(rng, B * T, config.vocab_size), batchSize: B, length: T };
      const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= 2 ? 1 : 0));
      const coefficients = () => [0.7, -1.3];
      const tfModel = model as unknown as {
        lossAndGradients: (...a: unknown[]) => { loss: number; gradients: Map<string, tf.Tensor> };
      };
      const { gradients } = tfModel.lossAndGradients(batch, mask, coefficients);
      const lossAt = (name: string, index: number, delta: number) => {
        const p = model.getParameters();
        const t = p.get(name)!;
        t.data[index] = (t.data[index] as number) + delta;
        model.setParameters(p);
        const out = tfModel.lossAndGradients(batch, mask, coefficients);
        for (const g of out.gradients.values()) g.dispose();
        t.data[index] = (t.data[index] as number) - delta;
        model.setParameters(p);
        return out.loss;
      };
      for (const [name, index] of [
        ['wte.weight', 13],
        ['h.0.attn.c_attn.weight', 40],
        ['h.1.mlp.c_fc.bias', 3],
        ['ln_f.weight', 2],
        ['wpe.weight', 9],
      ] as const) {
        const h = 5e-3;
        const numeric = (lossAt(name, index, h) - lossAt(name, index, -h)) / (2 * h);
        const analytic = gradients.get(name)!.dataSync()[index] as number;
        assert.ok(
          Math.abs(numeric - analytic) <= 2e-3 + 2e-2 * Math.abs(numeric),
          `${name}[${index}]: analytic ${analytic}, numeric ${numeric}`,
        );
      }
      for (const g of gradients.values()) g.dispose();
      model.dispose();
    });

    it('writes and reads the Hugging Face layout', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'rdlab-gpt2-'));
      const parameters = initGpt2Parameters(TINY, createRng(7));
      await writeGpt2Checkpoint(dir, TINY, parameters);
      const back = await readGpt2Checkpoint(dir);
      assert.deepEqual(back.config, TINY);
      assert.deepEqual(
        back.parameters.get('h.1.attn.c_proj.weight')?.data,
        parameters.get('h.1.attn.c_proj.weight')?.data,
      );
    });

    it('does not leak tensors over 200 training steps and 200 sampling batches', () => {
      const model = randomLanguageModel(TINY, 8);
      const rng = createRng(9);
      const B = 4;
      const T = 8;
      const mask = new Float32Array(B * T).fill(1);
      const step = () =>
        model.trainStep(
          { ids: randomIds(rng, B * T, TINY.vocab_size), batchSize: B, length: T },
          mask,
          () => [1, 1, 1, 1],
          { learningRate: 1e-3 },
        );
      step(); // Adam's moment slots are created by the first step
      const before = tf.memory().numTensors;
      for (let i = 0; i < 200; i++) step();
      assert.equal(tf.memory().numTensors, before, 'training leaked');
      for (let i = 0; i < 200; i++)
        generate(model, randomIds(rng, B * 2, TINY.vocab_size), B, { maxLength: 6, eosId: 0, rng });
      assert.equal(tf.memory().numTensors, before, 'sampling leaked');
      model.dispose();
    });
  });
}
