/**
 * Reward dropout (§5, Algorithm 1): bi-objective rewards of dropped samples are set to zero, so
 * only the kept samples move the target model.
 *
 * One registry entry per kind, one signature: `(rewards, config, rng) → DropoutResult`. Sweep
 * specs are validated against {@link DROPOUT_KINDS}, so a kind added here is a kind a spec can name.
 */
import type { Rng } from '../rng.js';
import { quantile } from './quantile.js';

/** The dropout of one cell. γ is the fraction dropped; δ a fixed threshold on r. */
export type DropoutConfig =
  | { kind: 'none' }
  /**
   * ⌊γ·B⌋ indices set to zero. `replacement: true` (the default) draws them with replacement, as
   * the authors' code does, so duplicates make fewer than ⌊γ·B⌋ distinct drops; `false` drops
   * exactly ⌊γ·B⌋ distinct samples.
   */
  | { kind: 'random'; gamma: number; replacement?: boolean }
  /** r below the batch's γ-quantile (numpy linear interpolation) set to zero. */
  | { kind: 'quantile'; gamma: number }
  /** r ≤ δ set to zero (Eq. 6). */
  | { kind: 'threshold'; delta: number };

export type DropoutKind = DropoutConfig['kind'];

export interface DropoutResult {
  /** r_δ: the rewards with dropped entries set to 0. */
  rewards: Float64Array;
  /** 1 where the sample was kept, 0 where dropped. */
  kept: Uint8Array;
  /** The threshold applied (quantile or δ), or null for kinds without one. */
  threshold: number | null;
}

type ConfigOf<K extends DropoutKind> = Extract<DropoutConfig, { kind: K }>;
type DropoutFn<K extends DropoutKind> = (
  rewards: ArrayLike<number>,
  config: ConfigOf<K>,
  rng: Rng,
) => DropoutResult;

function keepWhere(
  rewards: ArrayLike<number>,
  keep: (r: number, i: number) => boolean,
  threshold: number | null,
) {
  const out = new Float64Array(rewards.length);
  const kept = new Uint8Array(rewards.length);
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i] as number;
    if (keep(r, i)) {
      out[i] = r;
      kept[i] = 1;
    }
  }
  return { rewards: out, kept, threshold };
}

function checkGamma(kind: string, gamma: number): void {
  if (!(gamma >= 0 && gamma <= 1))
    throw new RangeError(`${kind} dropout: gamma must be in [0, 1], got ${gamma}`);
}

export const DROPOUT_REGISTRY: { readonly [K in DropoutKind]: DropoutFn<K> } = {
  none: (rewards) => keepWhere(rewards, () => true, null),

  random: (rewards, { gamma, replacement = true }, rng) => {
    checkGamma('random', gamma);
    const B = rewards.length;
    const count = Math.floor(gamma * B);
    const dropped = new Set<number>();
    if (replacement) for (let i = 0; i < count; i++) dropped.add(rng.int(B));
    else for (const i of rng.choose(B, count)) dropped.add(i);
    return keepWhere(rewards, (_r, i) => !dropped.has(i), null);
  },

  quantile: (rewards, { gamma }) => {
    checkGamma('quantile', gamma);
    const threshold = quantile(rewards, gamma);
    return keepWhere(rewards, (r) => r >= threshold, threshold);
  },

  threshold: (rewards, { delta }) => {
    if (!Number.isFinite(delta))
      throw new RangeError(`threshold dropout: delta must be finite, got ${delta}`);
    return keepWhere(rewards, (r) => r > delta, delta);
  },
};

/** The dropout kinds a spec may name, in registry order. */
export const DROPOUT_KINDS = Object.keys(DROPOUT_REGISTRY) as DropoutKind[];

/** Applies `config` to one batch of rewards. `rng` is used by random dropout only. */
export function applyDropout(
  rewards: ArrayLike<number>,
  config: DropoutConfig,
  rng: Rng,
): DropoutResult {
  const fn = DROPOUT_REGISTRY[config.kind] as DropoutFn<DropoutKind> | undefined;
  if (!fn) {
    throw new RangeError(
      `Unknown dropout kind '${String((config as { kind: unknown }).kind)}'. Supported kinds are: ${DROPOUT_KINDS.join(', ')}`,
    );
  }
  return fn(rewards, config as never, rng);
}
