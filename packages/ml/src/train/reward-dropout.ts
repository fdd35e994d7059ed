/**
 * The reward-dropout update (Algorithm 1, Eq. 7): on a batch of behaviour samples with their β̄
 * and R, compute π̄ under the current target, the bi-objective (or total) reward, dropout and
 * clipped importance weights with `@rdlab/core`, and take one Adam step on
 * mean_b(w_b · r_δ,b · CE_b).
 */
import {
  type LikelihoodKind,
  lossCoefficients,
  type ObjectiveConfig,
  type Rng,
  sequenceLikelihood,
} from '@rdlab/core';
import type { AdamOptions, LanguageModel } from '../engine.js';

/** Behaviour samples as the bootstrap stage stores them. */
export interface BehaviorBatch {
  /** `[B, T]` prefix + continuation + padding. */
  ids: Int32Array;
  /** `[B, T]` 1 on the continuation β generated. */
  mask: Float32Array;
  batchSize: number;
  length: number;
  /** β̄ per sample, from the bootstrap. */
  behaviorLikelihood: ArrayLike<number>;
  /** R per sample (logit or probability of the cell's attribute). */
  reward: ArrayLike<number>;
}

export interface RewardDropoutOptions {
  objective: ObjectiveConfig;
  /** How π̄ aggregates token probabilities (the same kind β̄ used). */
  likelihood: LikelihoodKind;
  adam: AdamOptions;
  /** Draws of random dropout. */
  rng: Rng;
}

export interface RewardDropoutStep {
  loss: number;
  /** w_b · r_δ,b of each sample. */
  coefficients: Float64Array;
  gradientNorm: number;
  /** Namespaced scalars: reward/*, dropout/*, importance/*, behavior/*, target/*, train/*. */
  metrics: Record<string, number>;
}

export function rewardDropoutStep(
  target: LanguageModel,
  batch: BehaviorBatch,
  options: RewardDropoutOptions,
): RewardDropoutStep {
  const { batchSize: B, length: T } = batch;
  let metrics: Record<string, number> = {};
  const step = target.trainStep(
    batch,
    batch.mask,
    (tokenLogprobs, mask) => {
      const targetLikelihood = sequenceLikelihood(
        { logprobs: tokenLogprobs, mask, batchSize: B, length: T },
        options.likelihood,
      );
      const out = lossCoefficients(
        { reward: batch.reward, behaviorLikelihood: batch.behaviorLikelihood, targetLikelihood },
        options.objective,
        options.rng,
      );
      metrics = out.metrics;
      return out.coefficients;
    },
    options.adam,
  );
  return {
    loss: step.loss,
    coefficients: step.coefficients,
    gradientNorm: step.gradientNorm,
    metrics: { ...metrics, 'train/loss': step.loss, 'train/gradient_norm': step.gradientNorm },
  };
}
