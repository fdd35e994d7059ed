/**
 * Fine-tuning a reward model R on labelled sequences: the authors' recipe for their BERT
 * classifier (CHLEE-Leo/Reward-Dropout: Adam at lr 5e-6, cross-entropy over the labels, dropout
 * 0.1 on the pooled output), for any {@link RewardClassifier}. A pipeline stage calls this with
 * its own examples and seed; the result's per-epoch losses are what it records.
 */
import { createRng } from '@rdlab/core';
import type { AdamOptions, RewardClassifier } from '../engine.js';
import { epochBatches, padBatch } from './batches.js';
import type { LabelledSequence, TrainingProgress } from './pretrain.js';

export interface FineTuneOptions {
  /** @defaultValue 1 */
  epochs?: number;
  /** @defaultValue 32 */
  batchSize?: number;
  /** Adam's step size; the authors fine-tune BERT at 5e-6. @defaultValue 5e-6 */
  learningRate?: number;
  /** The rest of Adam's settings (torch defaults; no clipping, as the authors). */
  adam?: Omit<AdamOptions, 'learningRate'>;
  /** Seeds the shuffle and the dropout masks. @defaultValue 0 */
  seed?: number;
  /** Right padding's id (BERT: config.pad_token_id); padded positions are masked out. @defaultValue 0 */
  padId?: number;
  onStep?: (progress: TrainingProgress) => void;
  /**
   * Called after each epoch with its mean loss; returning `false` stops there (early stopping on a
   * held-out score, which the caller measures).
   */
  onEpoch?: (epoch: number, loss: number) => boolean | undefined;
}

/** The authors' learning rate for fine-tuning the BERT reward model. */
export const BERT_FINE_TUNE_LEARNING_RATE = 5e-6;

/**
 * Trains `model` in place for `epochs` passes over `examples` (a seeded shuffle cut into
 * batches, right-padded, truncated to `model.maxLength`); returns each epoch's mean loss.
 */
export function fineTuneClassifier(
  model: RewardClassifier,
  examples: readonly LabelledSequence[],
  options: FineTuneOptions = {},
): { epochLosses: number[] } {
  const {
    epochs = 1,
    batchSize = 32,
    learningRate = BERT_FINE_TUNE_LEARNING_RATE,
    seed = 0,
    padId = 0,
  } = options;
  const adam: AdamOptions = { gradientClipNorm: 0, ...options.adam, learningRate };
  for (const e of examples)
    if (!Number.isInteger(e.label) || e.label < 0 || e.label >= model.numClasses)
      throw new RangeError(`label ${e.label} is outside the ${model.numClasses} classes`);
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const rng = createRng(seed, 'fine-tune-epoch', epoch);
    const batches = epochBatches(examples.length, batchSize, rng);
    let sum = 0;
    batches.forEach((indices, step) => {
      const rows = indices.map((i) => examples[i] as LabelledSequence);
      const batch = padBatch(
        rows.map((r) => r.ids),
        padId,
        model.maxLength,
        false,
      );
      const labels = Int32Array.from(rows, (r) => r.label);
      const { loss } = model.trainStep(batch, batch.lengths, labels, adam, rng);
      sum += loss;
      options.onStep?.({ epoch, step, stepsPerEpoch: batches.length, loss });
    });
    epochLosses.push(sum / Math.max(1, batches.length));
    if (options.onEpoch?.(epoch, epochLosses[epoch] as number) === false) break;
  }
  return { epochLosses };
}
