/**
 * Rewards of the paper: the bi-objective reward r = R(τ) + ln β(τ) (Eq. 5–6) and the total
 * reward ℜ = R + ln β − ln π (Eq. 3), one scalar per sequence.
 */

/** Added inside the logarithms, as in the authors' code, so a zero likelihood stays finite. */
export const LIKELIHOOD_EPS = 1e-5;

/** Which reward the dropout sees and the loss multiplies. */
export const OBJECTIVES = ['bi-objective', 'total'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** Which number of the reward model is R(τ) during training. */
export const REWARD_SIGNALS = ['logit', 'probability'] as const;
export type RewardSignal = (typeof REWARD_SIGNALS)[number];

/** r_b = R_b + ln(β̄_b + ε). */
export function biObjectiveReward(
  rewardModelScore: ArrayLike<number>,
  behaviorLikelihood: ArrayLike<number>,
): Float64Array {
  assertSameLength('biObjectiveReward', rewardModelScore, behaviorLikelihood);
  const out = new Float64Array(rewardModelScore.length);
  for (let b = 0; b < out.length; b++) {
    out[b] =
      (rewardModelScore[b] as number) +
      Math.log((behaviorLikelihood[b] as number) + LIKELIHOOD_EPS);
  }
  return out;
}

/** ℜ_b = R_b + ln(β̄_b + ε) − ln(π̄_b + ε): the bi-objective reward plus the entropy reward. */
export function totalReward(
  rewardModelScore: ArrayLike<number>,
  behaviorLikelihood: ArrayLike<number>,
  targetLikelihood: ArrayLike<number>,
): Float64Array {
  assertSameLength('totalReward', rewardModelScore, targetLikelihood);
  const out = biObjectiveReward(rewardModelScore, behaviorLikelihood);
  for (let b = 0; b < out.length; b++) {
    out[b] = (out[b] as number) - Math.log((targetLikelihood[b] as number) + LIKELIHOOD_EPS);
  }
  return out;
}

/**
 * R(τ) from the reward model's class logits `[B, C]` row-major: the raw logit of the target
 * attribute (the authors' default) or its softmax probability.
 */
export function rewardModelScores(
  logits: ArrayLike<number>,
  numClasses: number,
  attribute: number,
  signal: RewardSignal = 'logit',
): Float64Array {
  if (!(Number.isInteger(attribute) && attribute >= 0 && attribute < numClasses)) {
    throw new RangeError(
      `rewardModelScores: attribute must be an integer in [0, ${numClasses}), got ${attribute}`,
    );
  }
  if (logits.length % numClasses !== 0) {
    throw new RangeError(
      `rewardModelScores: ${logits.length} logits is not a multiple of ${numClasses} classes`,
    );
  }
  const B = logits.length / numClasses;
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    const row = b * numClasses;
    const target = logits[row + attribute] as number;
    if (signal === 'logit') {
      out[b] = target;
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < numClasses; c++) max = Math.max(max, logits[row + c] as number);
    let sum = 0;
    for (let c = 0; c < numClasses; c++) sum += Math.exp((logits[row + c] as number) - max);
    out[b] = Math.exp(target - max) / sum;
  }
  return out;
}

export function assertSameLength(where: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) {
    throw new RangeError(
      `${where}: inputs must have one value per sequence, got ${a.length} and ${b.length}`,
    );
  }
}
