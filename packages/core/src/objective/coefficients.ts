/**
 * The per-sample coefficient of the reward-dropout loss:
 *
 *   loss = mean_b( w_b · r_δ,b · CE_b ),   CE_b = mean token cross-entropy of π on sample b
 *
 * Minimising it ascends Eq. 7 with the dropped reward of Algorithm 1: ∇ = −mean_b w_b r_δ,b ∇ln π̄.
 * The coefficient w_b · r_δ,b is a constant of the step (no gradient through w or r), so the
 * trainer computes it here, on plain numbers, and multiplies its own cross-entropy by it.
 */
import type { Rng } from '../rng.js';
import { applyDropout, type DropoutConfig } from './dropout.js';
import { DEFAULT_IMPORTANCE_CLIP, type ImportanceClip, importanceWeights } from './importance.js';
import { assertSameLength, biObjectiveReward, type Objective, totalReward } from './reward.js';

export interface ObjectiveConfig {
  /** @defaultValue 'bi-objective' */
  objective: Objective;
  dropout: DropoutConfig;
  /** @defaultValue { kind: 'norm', bound: 1.0 } */
  importanceClip: ImportanceClip;
}

/** One training batch as the objective sees it: one number per sequence. */
export interface ObjectiveBatch {
  /** R(τ): reward-model logit or probability of the target attribute. */
  reward: ArrayLike<number>;
  /** β̄(τ): behaviour likelihood, computed when the sample was drawn. */
  behaviorLikelihood: ArrayLike<number>;
  /** π̄(τ): target likelihood under the current parameters. */
  targetLikelihood: ArrayLike<number>;
}

export interface LossCoefficients {
  /** w_b · r_δ,b: multiplies CE_b in the loss. */
  coefficients: Float64Array;
  /** r before dropout (bi-objective or total reward). */
  rewards: Float64Array;
  /** r_δ after dropout. */
  droppedRewards: Float64Array;
  kept: Uint8Array;
  /** Clipped importance weights w. */
  weights: Float64Array;
  /** Namespaced scalars for the metrics sink. */
  metrics: Record<string, number>;
}

export function lossCoefficients(
  batch: ObjectiveBatch,
  config: ObjectiveConfig,
  rng: Rng,
): LossCoefficients {
  const { reward, behaviorLikelihood, targetLikelihood } = batch;
  assertSameLength('lossCoefficients', reward, behaviorLikelihood);
  assertSameLength('lossCoefficients', reward, targetLikelihood);
  const rewards =
    config.objective === 'total'
      ? totalReward(reward, behaviorLikelihood, targetLikelihood)
      : biObjectiveReward(reward, behaviorLikelihood);
  const dropout = applyDropout(rewards, config.dropout, rng);
  const weights = importanceWeights(
    targetLikelihood,
    behaviorLikelihood,
    config.importanceClip ?? DEFAULT_IMPORTANCE_CLIP,
  );
  const coefficients = new Float64Array(rewards.length);
  for (let b = 0; b < coefficients.length; b++) {
    coefficients[b] = (weights[b] as number) * (dropout.rewards[b] as number);
  }
  const metrics: Record<string, number> = {
    'reward/mean': mean(rewards),
    'reward/std': std(rewards),
    'dropout/kept_fraction': mean(dropout.kept),
    'importance/mean_weight': mean(weights),
    'behavior/mean_likelihood': mean(behaviorLikelihood),
    'target/mean_likelihood': mean(targetLikelihood),
    'reward_model/mean': mean(reward),
  };
  if (dropout.threshold !== null) metrics['dropout/threshold'] = dropout.threshold;
  return {
    coefficients,
    rewards,
    droppedRewards: dropout.rewards,
    kept: dropout.kept,
    weights,
    metrics,
  };
}

/** mean_b(coefficient_b · CE_b): the loss value, for checking a trainer against core. */
export function weightedLoss(
  coefficients: ArrayLike<number>,
  crossEntropy: ArrayLike<number>,
): number {
  assertSameLength('weightedLoss', coefficients, crossEntropy);
  let sum = 0;
  for (let b = 0; b < coefficients.length; b++)
    sum += (coefficients[b] as number) * (crossEntropy[b] as number);
  return sum / coefficients.length;
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Population standard deviation (numpy's default, ddof = 0). */
export function std(values: ArrayLike<number>): number {
  const m = mean(values);
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += ((values[i] as number) - m) ** 2;
  return Math.sqrt(sq / values.length);
}
