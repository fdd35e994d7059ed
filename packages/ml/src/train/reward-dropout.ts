/**
 * The reward-dropout update (Algorithm 1, Eq. 7) as the authors' code computes it
 * (CHLEE-Leo/Reward-Dropout `code/RLHF_train.py:385,415`): on a batch of behaviour samples with
 * their β̄ and R, compute π̄ under the current target, the bi-objective reward r, dropout on r,
 * the multiplier m (ℜ = r − ln π̄, or r) and clipped importance weights w with `@rdlab/core`, and
 * take one Adam step on mean_b(w_b · m_b · kept_b · CE_b).
 */
import {
  type LikelihoodKind,
  lossCoefficients,
  type ObjectiveConfig,
  type Rng,
  sequenceLikelihood,
} from '@rdlab/core';
import type { AdamOptions, CoefficientFn, LanguageModel } from '../engine.js';

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
  /** R per sample: the reward-model score (logit or probability of the cell's attribute). */
  rewardModelScore: ArrayLike<number>;
}

export interface RewardDropoutOptions {
  objective: ObjectiveConfig;
  /** How π̄ aggregates token probabilities (the same kind β̄ used). */
  likelihood: LikelihoodKind;
  adam: AdamOptions;
  /** Draws of random dropout. */
  rng: Rng;
}

/** What the step saw, per sample: the quantities of the update, for checks and `rdlab model step`. */
export interface RewardDropoutDetail {
  /** π̄ under the parameters before the step. */
  targetLikelihood: Float64Array;
  /** r = R + ln(β̄ + ε), the bi-objective reward. */
  biObjectiveRewards: Float64Array;
  /** m: ℜ or r. */
  multipliers: Float64Array;
  kept: Uint8Array;
  /** w after clipping. */
  weights: Float64Array;
  /** w · m · kept. */
  coefficients: Float64Array;
  /** Namespaced scalars: bi_objective_reward/*, reward_model/*, dropout/*, importance/*, … */
  metrics: Record<string, number>;
}

export interface RewardDropoutStep extends RewardDropoutDetail {
  loss: number;
  /** Global gradient norm before any clipping. */
  gradientNorm: number;
}

/** The coefficient function of the step, and where it leaves what it computed. */
function coefficientsOf(batch: BehaviorBatch, options: RewardDropoutOptions) {
  const { batchSize: B, length: T } = batch;
  const seen: { detail: RewardDropoutDetail | null } = { detail: null };
  const fn: CoefficientFn = (tokenLogprobs, mask) => {
    const targetLikelihood = sequenceLikelihood(
      { logprobs: tokenLogprobs, mask, batchSize: B, length: T },
      options.likelihood,
    );
    const out = lossCoefficients(
      {
        rewardModelScore: batch.rewardModelScore,
        behaviorLikelihood: batch.behaviorLikelihood,
        targetLikelihood,
      },
      options.objective,
      options.rng,
    );
    seen.detail = { ...out, targetLikelihood };
    return out.coefficients;
  };
  const detail = () => {
    if (!seen.detail)
      throw new Error('reward-dropout step: the engine never asked for coefficients');
    return seen.detail;
  };
  return { fn, detail };
}

export function rewardDropoutStep(
  target: LanguageModel,
  batch: BehaviorBatch,
  options: RewardDropoutOptions,
): RewardDropoutStep {
  const { fn, detail } = coefficientsOf(batch, options);
  const step = target.trainStep(batch, batch.mask, fn, options.adam);
  const d = detail();
  return {
    ...d,
    loss: step.loss,
    gradientNorm: step.gradientNorm,
    metrics: { ...d.metrics, 'train/loss': step.loss, 'train/gradient_norm': step.gradientNorm },
  };
}

/** The same step's loss and gradient norms per parameter, without an update. */
export function rewardDropoutGradients(
  target: LanguageModel,
  batch: BehaviorBatch,
  options: Omit<RewardDropoutOptions, 'adam'>,
): RewardDropoutDetail & {
  loss: number;
  gradientNorm: number;
  gradientNorms: Record<string, number>;
} {
  const { fn, detail } = coefficientsOf(batch, { ...options, adam: { learningRate: 0 } });
  const out = target.gradientNorms(batch, batch.mask, fn);
  return {
    ...detail(),
    loss: out.loss,
    gradientNorm: out.gradientNorm,
    gradientNorms: out.gradientNorms,
  };
}
