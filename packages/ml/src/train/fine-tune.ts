/**
 * Fine-tuning a reward model R on labelled sequences: the authors' recipe for their BERT
 * classifier (CHLEE-Leo/Reward-Dropout: Adam at lr 5e-6, cross-entropy over the labels, dropout
 * 0.1 on the pooled output), for any {@link RewardClassifier}. A pipeline stage calls this with
 * its own examples and seed; the result's per-epoch losses are what it records.
 */
import type { AdamOptions, RewardClassifier } from '../engine.js';
import { classifierEpochs, type LabelledSequence, type TrainingProgress } from './pretrain.js';

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
  const epochLosses = classifierEpochs(model, examples, padId, {
    epochs,
    batchSize,
    adam,
    seed,
    rngTag: 'fine-tune-epoch',
    onStep: options.onStep,
    onEpoch: options.onEpoch,
  });
  return { epochLosses };
}
