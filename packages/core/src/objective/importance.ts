/**
 * Importance weights of the off-policy gradient (Eq. 7): w = π(τ)/β(τ), treated as constants
 * (no gradient flows through them). The paper clips them for stability; the authors' code rescales
 * the batch vector to an L2 norm of at most 1.0.
 */
import { assertSameLength, LIKELIHOOD_EPS } from './reward.js';

export const IMPORTANCE_WEIGHT_CLIPS = ['norm', 'sample', 'none'] as const;
export type ImportanceWeightClipKind = (typeof IMPORTANCE_WEIGHT_CLIPS)[number];

export interface ImportanceWeightClip {
  /** `norm`: rescale the batch vector to ‖w‖₂ ≤ bound; `sample`: min(w, bound) per sample. */
  kind: ImportanceWeightClipKind;
  /** @defaultValue 1.0 */
  bound: number;
}

export const DEFAULT_IMPORTANCE_WEIGHT_CLIP: ImportanceWeightClip = { kind: 'norm', bound: 1.0 };

/** w_b = (π̄_b + ε)/(β̄_b + ε), then clipped. */
export function importanceWeights(
  targetLikelihood: ArrayLike<number>,
  behaviorLikelihood: ArrayLike<number>,
  clip: ImportanceWeightClip = DEFAULT_IMPORTANCE_WEIGHT_CLIP,
): Float64Array {
  assertSameLength('importanceWeights', targetLikelihood, behaviorLikelihood);
  if (!(clip.bound > 0))
    throw new RangeError(`importanceWeights: clip bound must be > 0, got ${clip.bound}`);
  const w = new Float64Array(targetLikelihood.length);
  for (let b = 0; b < w.length; b++) {
    w[b] =
      ((targetLikelihood[b] as number) + LIKELIHOOD_EPS) /
      ((behaviorLikelihood[b] as number) + LIKELIHOOD_EPS);
  }
  if (clip.kind === 'sample') {
    for (let b = 0; b < w.length; b++) w[b] = Math.min(w[b] as number, clip.bound);
  } else if (clip.kind === 'norm') {
    let sq = 0;
    for (let b = 0; b < w.length; b++) sq += (w[b] as number) ** 2;
    const norm = Math.sqrt(sq);
    // torch.nn.utils.clip_grad_norm_-style: scale only when the norm exceeds the bound.
    if (norm > clip.bound)
      for (let b = 0; b < w.length; b++) w[b] = ((w[b] as number) * clip.bound) / norm;
  }
  return w;
}
