/**
 * Pretraining from scratch on a dataset: the behaviour LM (cross-entropy on sentences) and the
 * reward model (cross-entropy on labels). Both are plain supervised training, kept small.
 */
import { createRng } from '@rdlab/core';
import type { AdamOptions, LanguageModel, RewardClassifier } from '../engine.js';
import { epochBatches, padBatch } from './batches.js';

export interface TrainingProgress {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
}

export interface SupervisedOptions {
  epochs: number;
  batchSize: number;
  adam: AdamOptions;
  seed: number;
  onStep?: (progress: TrainingProgress) => void;
}

/** Cross-entropy training of `model` on token sequences (end-of-text appended). Returns the last epoch's mean loss. */
export function pretrainLanguageModel(
  model: LanguageModel,
  sentences: ArrayLike<number>[],
  eosId: number,
  maxLength: number,
  options: SupervisedOptions,
): number {
  let epochLoss = Number.NaN;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const batches = epochBatches(
      sentences.length,
      options.batchSize,
      createRng(options.seed, 'lm-epoch', epoch),
    );
    let sum = 0;
    batches.forEach((indices, step) => {
      const batch = padBatch(
        indices.map((i) => sentences[i] as ArrayLike<number>),
        eosId,
        maxLength,
      );
      const ones = new Float64Array(batch.batchSize).fill(1);
      const { loss } = model.trainStep(batch, batch.lossMask, () => ones, options.adam);
      sum += loss;
      options.onStep?.({ epoch, step, stepsPerEpoch: batches.length, loss });
    });
    epochLoss = sum / Math.max(1, batches.length);
  }
  return epochLoss;
}

export interface LabelledSequence {
  ids: ArrayLike<number>;
  label: number;
}

/**
 * Cross-entropy epochs of a reward classifier: each a seeded shuffle (keyed by `rngTag`) cut into
 * right-padded batches, truncated to `classifier.maxLength`. Returns each epoch's mean loss;
 * `onEpoch` returning `false` stops after that epoch.
 */
export function classifierEpochs(
  classifier: RewardClassifier,
  examples: readonly LabelledSequence[],
  padId: number,
  options: SupervisedOptions & {
    rngTag: string;
    onEpoch?: (epoch: number, loss: number) => boolean | undefined;
  },
): number[] {
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const rng = createRng(options.seed, options.rngTag, epoch);
    const batches = epochBatches(examples.length, options.batchSize, rng);
    let sum = 0;
    batches.forEach((indices, step) => {
      const rows = indices.map((i) => examples[i] as LabelledSequence);
      const batch = padBatch(
        rows.map((r) => r.ids),
        padId,
        classifier.maxLength,
        false,
      );
      const labels = Int32Array.from(rows, (r) => r.label);
      const { loss } = classifier.trainStep(batch, batch.lengths, labels, options.adam, rng);
      sum += loss;
      options.onStep?.({ epoch, step, stepsPerEpoch: batches.length, loss });
    });
    epochLosses.push(sum / Math.max(1, batches.length));
    if (options.onEpoch?.(epoch, epochLosses[epoch] as number) === false) break;
  }
  return epochLosses;
}

/** Cross-entropy training of the reward classifier. Returns the last epoch's mean loss. */
export function trainClassifier(
  classifier: RewardClassifier,
  examples: LabelledSequence[],
  padId: number,
  options: SupervisedOptions,
): number {
  return (
    classifierEpochs(classifier, examples, padId, { ...options, rngTag: 'classifier-epoch' }).at(
      -1,
    ) ?? Number.NaN
  );
}

/** Class probabilities `[N, C]` for sequences, batched. */
export function classify(
  classifier: RewardClassifier,
  sequences: ArrayLike<number>[],
  padId: number,
  batchSize = 256,
): Float32Array {
  const C = classifier.numClasses;
  const out = new Float32Array(sequences.length * C);
  for (let start = 0; start < sequences.length; start += batchSize) {
    const batch = padBatch(
      sequences.slice(start, start + batchSize),
      padId,
      classifier.maxLength,
      false,
    );
    const logits = classifier.logits(batch, batch.lengths);
    out.set(logits, start * C);
  }
  return out;
}

/** Fraction of examples whose arg-max class is their label. */
export function classifierAccuracy(
  classifier: RewardClassifier,
  examples: LabelledSequence[],
  padId: number,
): number {
  const C = classifier.numClasses;
  const logits = classify(
    classifier,
    examples.map((e) => e.ids),
    padId,
  );
  let correct = 0;
  examples.forEach((e, i) => {
    let best = 0;
    for (let c = 1; c < C; c++)
      if ((logits[i * C + c] as number) > (logits[i * C + best] as number)) best = c;
    if (best === e.label) correct += 1;
  });
  return correct / Math.max(1, examples.length);
}
