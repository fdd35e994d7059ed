/**
 * β̄(τ) and π̄(τ): one likelihood per sequence from its per-token log-probabilities.
 *
 * The authors' code averages token probabilities over the generated tokens (prefix excluded,
 * padding masked); the geometric mean `exp(mean log p)` is the length-normalised sequence
 * probability. Both see only positions where `mask` is 1.
 */

/** How token probabilities are aggregated into one sequence likelihood. */
export const LIKELIHOOD_KINDS = ['mean', 'geometric'] as const;
export type LikelihoodKind = (typeof LIKELIHOOD_KINDS)[number];

/** A row-major `[batchSize, length]` matrix of per-token values with its 0/1 mask. */
export interface MaskedTokens {
  /** Per-token natural-log probabilities, `[B, T]` row-major. */
  logprobs: ArrayLike<number>;
  /** 1 where the token counts (generated, not padding), 0 elsewhere; `[B, T]`. */
  mask: ArrayLike<number>;
  batchSize: number;
  length: number;
}

/** One likelihood per row, in (0, 1]. Throws when a row has no unmasked token. */
export function sequenceLikelihood(
  tokens: MaskedTokens,
  kind: LikelihoodKind = 'mean',
): Float64Array {
  const { logprobs, mask, batchSize: B, length: T } = tokens;
  if (logprobs.length !== B * T || mask.length !== B * T) {
    throw new RangeError(
      `sequenceLikelihood: logprobs and mask must have batchSize × length = ${B * T} entries, got ${logprobs.length} and ${mask.length}`,
    );
  }
  const out = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    let count = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if ((mask[i] as number) === 0) continue;
      const lp = logprobs[i] as number;
      sum += kind === 'mean' ? Math.exp(lp) : lp;
      count += 1;
    }
    if (count === 0) throw new RangeError(`sequenceLikelihood: row ${b} has no unmasked token`);
    out[b] = kind === 'mean' ? sum / count : Math.exp(sum / count);
  }
  return out;
}
