import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  type ClassifierConfig,
  createRng,
  type Gpt2Config,
  lossCoefficients,
  sequenceLikelihood,
  weightedLoss,
} from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.js';
import {
  loadClassifierCheckpoint,
  loadLanguageModelCheckpoint,
  saveClassifier,
  saveLanguageModel,
} from '../checkpoint.js';
import { randomClassifier } from '../classifiers.js';
import { randomLanguageModel } from '../models.js';
import { generate } from '../sampler.js';
import { trainBpe } from '../tokenizer/train-bpe.js';
import { padBatch } from './batches.js';
import { classifierAccuracy, pretrainLanguageModel, trainClassifier } from './pretrain.js';
import { rewardDropoutStep } from './reward-dropout.js';

const LM: Gpt2Config = {
  vocab_size: 40,
  n_positions: 16,
  n_embd: 16,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};
const CNN: ClassifierConfig = {
  embedDim: 16,
  kernelSizes: [2, 3],
  filters: 16,
  maxLength: 16,
  dropout: 0.1,
};
const adam = { learningRate: 1e-2 };

/** A toy language: label 1 sequences use tokens 20–29, label 0 tokens 10–19. */
function toySentences(n: number, seed: number) {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => {
    const label = rng.int(2);
    const base = label === 1 ? 20 : 10;
    const ids = Array.from({ length: 4 + rng.int(6) }, (_, i) => base + ((i + rng.int(2)) % 10));
    return { ids, label };
  });
}

describe('trainers on tfjs wasm', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('pretraining lowers the LM loss on a structured toy corpus', () => {
    const model = randomLanguageModel(LM, 1);
    const sentences = toySentences(256, 2).map((s) => s.ids);
    const first = pretrainLanguageModel(model, sentences, 0, 16, {
      epochs: 1,
      batchSize: 32,
      adam,
      seed: 3,
    });
    const later = pretrainLanguageModel(model, sentences, 0, 16, {
      epochs: 3,
      batchSize: 32,
      adam,
      seed: 4,
    });
    assert.ok(later < first * 0.7, `loss ${first} → ${later}`);
    model.dispose();
  });

  it('the reward classifier learns a separable labelling and saves and loads', async () => {
    const train = toySentences(512, 5);
    const test = toySentences(200, 6);
    const clf = randomClassifier(CNN, LM.vocab_size, 2, 7);
    trainClassifier(clf, train, 0, { epochs: 3, batchSize: 32, adam, seed: 8 });
    const accuracy = classifierAccuracy(clf, test, 0);
    assert.ok(accuracy > 0.95, `accuracy ${accuracy}`);
    const dir = await mkdtemp(join(tmpdir(), 'rdlab-clf-'));
    await saveClassifier(dir, clf, ['negative', 'positive']);
    const loaded = await loadClassifierCheckpoint(dir);
    assert.deepEqual(loaded.classes, ['negative', 'positive']);
    assert.equal(classifierAccuracy(loaded.classifier, test, 0), accuracy);
    clf.dispose();
    loaded.classifier.dispose();
  });

  it('the reward-dropout step uses core coefficients and loss = mean_b(w_b · r_δ,b · CE_b)', () => {
    const model = randomLanguageModel(LM, 9);
    const B = 8;
    const T = 10;
    const gen = generate(
      model,
      Int32Array.from({ length: B * 3 }, (_, i) => 10 + (i % 7)),
      B,
      { maxLength: T, eosId: 0, rng: createRng(10) },
    );
    const behaviorLikelihood = Float64Array.from({ length: B }, (_, b) => 0.05 + b / 40);
    const reward = Float64Array.from({ length: B }, (_, b) => (b - 3) / 2);
    const objective = {
      objective: 'bi-objective',
      dropout: { kind: 'quantile', gamma: 0.5 },
      importanceWeightClip: { kind: 'norm', bound: 1 },
    } as const;
    // What core says, from π̄ under the parameters before the step.
    const logp = model.tokenLogprobs({ ids: gen.ids, batchSize: B, length: T });
    const targetLikelihood = sequenceLikelihood({
      logprobs: logp,
      mask: gen.mask,
      batchSize: B,
      length: T,
    });
    const expected = lossCoefficients(
      { rewardModelScore: reward, behaviorLikelihood, targetLikelihood },
      objective,
      createRng(11),
    );
    const ce = Array.from({ length: B }, (_, b) => {
      let sum = 0;
      let n = 0;
      for (let t = 0; t < T; t++) {
        if (!gen.mask[b * T + t]) continue;
        sum -= logp[b * T + t] as number;
        n += 1;
      }
      return sum / n;
    });
    const out = rewardDropoutStep(
      model,
      { ...gen, behaviorLikelihood, rewardModelScore: reward },
      { objective, likelihood: 'mean', adam: { learningRate: 1e-3 }, rng: createRng(11) },
    );
    Array.from(expected.coefficients).forEach((c, b) => {
      assert.ok(Math.abs((out.coefficients[b] as number) - c) < 1e-5, `coefficient ${b}`);
    });
    assert.equal(out.coefficients.filter((c) => c === 0).length, 4); // quantile 0.5 of 8 distinct rewards drops 4
    assert.ok(
      Math.abs(out.loss - weightedLoss(expected.coefficients, ce)) < 1e-5,
      `${out.loss} vs ${weightedLoss(expected.coefficients, ce)}`,
    );
    assert.equal(out.metrics['dropout/kept_fraction'], 0.5);
    model.dispose();
  });

  it('dropped samples do not move the target: a batch whose rewards are all dropped leaves it unchanged', () => {
    const model = randomLanguageModel(LM, 12);
    const before = model.getParameters();
    const B = 4;
    const batch = padBatch(
      [
        [11, 12, 13, 14],
        [21, 22, 23],
        [15, 16, 17, 18],
        [25, 26],
      ],
      0,
      8,
    );
    rewardDropoutStep(
      model,
      {
        ids: batch.ids,
        mask: batch.lossMask,
        batchSize: B,
        length: batch.length,
        behaviorLikelihood: [0.1, 0.1, 0.1, 0.1],
        rewardModelScore: [1, 1, 1, 1],
      },
      {
        objective: {
          objective: 'bi-objective',
          dropout: { kind: 'threshold', delta: 100 },
          importanceWeightClip: { kind: 'norm', bound: 1 },
        },
        likelihood: 'mean',
        adam: { learningRate: 1e-2 },
        rng: createRng(13),
      },
    );
    assert.deepEqual(
      model.getParameters().get('h.0.mlp.c_fc.weight')?.data,
      before.get('h.0.mlp.c_fc.weight')?.data,
    );
    model.dispose();
  });

  it('save → load → next step gives bit-identical parameters to an uninterrupted run', async () => {
    const sentences = toySentences(64, 14).map((s) => s.ids);
    const batchOf = (i: number) => padBatch(sentences.slice(i * 8, i * 8 + 8), 0, 12);
    const ones = () => new Array(8).fill(1);
    const a = randomLanguageModel(LM, 15);
    for (let i = 0; i < 3; i++) a.trainStep(batchOf(i), batchOf(i).lossMask, ones, adam);
    const dir = await mkdtemp(join(tmpdir(), 'rdlab-ckpt-'));
    const tokenizer = trainBpe(['a b c'], 260);
    await saveLanguageModel(dir, a, { tokenizer, trainerState: { epoch: 0 } });
    a.trainStep(batchOf(3), batchOf(3).lossMask, ones, adam);
    const {
      model: b,
      tokenizer: loadedTokenizer,
      trainerState,
    } = await loadLanguageModelCheckpoint(dir);
    assert.equal(trainerState?.step, 3);
    assert.deepEqual(loadedTokenizer?.merges, tokenizer.merges);
    b.trainStep(batchOf(3), batchOf(3).lossMask, ones, adam);
    const pa = a.getParameters();
    const pb = b.getParameters();
    for (const [name, t] of pa) assert.deepEqual(pb.get(name)?.data, t.data, name);
    a.dispose();
    b.dispose();
  });

  it('classifier training and inference do not leak tensors', () => {
    const clf = randomClassifier(CNN, LM.vocab_size, 2, 16);
    const examples = toySentences(64, 17);
    trainClassifier(clf, examples, 0, { epochs: 1, batchSize: 16, adam, seed: 18 });
    const before = tf.memory().numTensors;
    trainClassifier(clf, examples, 0, { epochs: 5, batchSize: 16, adam, seed: 19 });
    classifierAccuracy(clf, examples, 0);
    assert.equal(tf.memory().numTensors, before);
    clf.dispose();
  });
});
