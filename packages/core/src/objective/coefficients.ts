/**
 * The per-sample coefficient of the reward-dropout loss, as the authors' code computes it
 * (CHLEE-Leo/Reward-Dropout `code/RLHF_train.py:385,415`):
 *
 *   loss = mean_b( w_b · m_b · kept_b · CE_b ),   CE_b = mean token cross-entropy of π on sample b
 *
 * Dropout is always decided on the bi-objective reward r = R + ln(β̄ + ε) (line 385:
 * `dropout_indicator(ref_bi_obj_reward_vec)`). The multiplier m is Eq. 7's total reward
 * ℜ = r − ln(π̄ + ε) for the objective `total` (line 415, the default), or r itself for
 * `bi-objective` (Algorithm 1 read literally). The coefficient is a constant of the step (no
 * gradient through w, m or kept: `tf.stop_gradient`), so the trainer computes it here, on plain
 * numbers, and multiplies its own cross-entropy by it.
 */
import type { Rng } from '../rng.js';
import { applyDropout, type DropoutConfig } from './dropout.js';
import {
  DEFAULT_IMPORTANCE_WEIGHT_CLIP,
  type ImportanceWeightClip,
  importanceWeights,
} from './importance.js';
import { assertSameLength, biObjectiveReward, LIKELIHOOD_EPS, type Objective } from './reward.js';

export interface ObjectiveConfig {
  /** What multiplies a kept sample's cross-entropy: ℜ (`total`) or r. @defaultValue 'total' */
  objective: Objective;
  dropout: DropoutConfig;
  /** @defaultValue { kind: 'norm', bound: 1.0 } */
  importanceWeightClip: ImportanceWeightClip;
}

/** One training batch as the objective sees it: one number per sequence. */
export interface ObjectiveBatch {
  /** R(τ): the reward-model score, the target attribute's logit or probability. */
  rewardModelScore: ArrayLike<number>;
  /** β̄(τ): behaviour likelihood, computed when the sample was drawn. */
  behaviorLikelihood: ArrayLike<number>;
  /** π̄(τ): target likelihood under the current parameters. */
  targetLikelihood: ArrayLike<number>;
}

export interface LossCoefficients {
  /** w_b · m_b · kept_b: multiplies CE_b in the loss. */
  coefficients: Float64Array;
  /** r = R + ln(β̄ + ε), the bi-objective reward dropout decides on. */
  biObjectiveRewards: Float64Array;
  /** m: ℜ = r − ln(π̄ + ε) for `total`, r for `bi-objective`. */
  multipliers: Float64Array;
  /** 1 where the sample was kept. */
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
  const { rewardModelScore, behaviorLikelihood, targetLikelihood } = batch;
  assertSameLength('lossCoefficients', rewardModelScore, behaviorLikelihood);
  assertSameLength('lossCoefficients', rewardModelScore, targetLikelihood);
  const rewards = biObjectiveReward(rewardModelScore, behaviorLikelihood);
  const dropout = applyDropout(rewards, config.dropout, rng);
  const multipliers = Float64Array.from(rewards, (r, b) =>
    config.objective === 'total'
      ? r - Math.log((targetLikelihood[b] as number) + LIKELIHOOD_EPS)
      : r,
  );
  const weights = importanceWeights(
    targetLikelihood,
    behaviorLikelihood,
    config.importanceWeightClip ?? DEFAULT_IMPORTANCE_WEIGHT_CLIP,
  );
  const coefficients = new Float64Array(rewards.length);
  for (let b = 0; b < coefficients.length; b++) {
    coefficients[b] =
      (weights[b] as number) * (multipliers[b] as number) * (dropout.kept[b] as number);
  }
  const metrics: Record<string, number> = {
    // r is the bi-objective reward, R the reward model's score (the paper's letters).
    'bi_objective_reward/mean': mean(rewards),
    'bi_objective_reward/std': std(rewards),
    'multiplier/mean': mean(multipliers),
    'dropout/kept_fraction': mean(dropout.kept),
    'importance/mean_weight': mean(weights),
    'behavior/mean_likelihood': mean(behaviorLikelihood),
    'target/mean_likelihood': mean(targetLikelihood),
    'reward_model/mean': mean(rewardModelScore),
  };
  if (dropout.threshold !== null) metrics['dropout/threshold'] = dropout.threshold;
  return {
    coefficients,
    biObjectiveRewards: rewards,
    multipliers,
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
