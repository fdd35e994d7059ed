/**
 * Reward dropout (§5, Algorithm 1): bi-objective rewards of dropped samples are set to zero, so
 * only the kept samples move the target model.
 *
 * The registry here is the one definition of a dropout kind: the parameters it takes with their
 * ranges, and how it is applied. The sweep-spec schema, grid expansion, labels (`quantile-0.8`,
 * also the CLI's `--dropout` syntax), validation of stored configs and the dashboard all derive
 * from it, so a kind added here (or with {@link registerDropoutKind}) is a kind a spec can name.
 *
 * Adding a kind from outside this file: declare its config type by merging into
 * {@link DropoutKinds}, then register it.
 *
 * ```ts
 * declare module '@rdlab/core' {
 *   interface DropoutKinds { top: { count: number } }
 * }
 * registerDropoutKind({ kind: 'top', description: '…', parameters: { count: { … } }, apply });
 * ```
 */
import type { Rng } from '../rng.js';
import { quantile } from './quantile.js';

/**
 * What each kind takes besides its `kind`. An interface, so other modules add kinds by
 * declaration merging (as Fastify's decorators do).
 */
export interface DropoutKinds {
  none: Record<never, never>;
  /**
   * ⌊γ·B⌋ indices set to zero. `replacement: true` (the default) draws them with replacement, as
   * the authors' code does, so duplicates make fewer than ⌊γ·B⌋ distinct drops; `false` drops
   * exactly ⌊γ·B⌋ distinct samples.
   */
  random: { gamma: number; replacement?: boolean };
  /** r below the batch's γ-quantile (numpy linear interpolation) set to zero. */
  quantile: { gamma: number };
  /** r ≤ δ set to zero (Eq. 6). */
  threshold: { delta: number };
}

export type DropoutKind = keyof DropoutKinds & string;

/** The dropout of one cell: its kind and that kind's parameters. */
export type DropoutConfig = { [K in DropoutKind]: { kind: K } & DropoutKinds[K] }[DropoutKind];

/** The config of one kind. */
export type DropoutConfigOf<K extends DropoutKind> = Extract<DropoutConfig, { kind: K }>;

/**
 * One parameter of a kind. Numbers are grid axes: a spec may list several values, one cell each.
 * Booleans have a default and a label word for the other value (`random-0.8-distinct`).
 */
export type DropoutParameter =
  | {
      type: 'number';
      /** Inclusive bounds; absent means unbounded (numbers are always finite). */
      min?: number;
      max?: number;
      integer?: boolean;
      /** The symbol the paper uses (γ, δ), for help texts. */
      symbol?: string;
      description: string;
    }
  | {
      type: 'boolean';
      default: boolean;
      /** The label word of the non-default value. */
      flag: string;
      description: string;
    };

export interface DropoutResult {
  /** r_δ: the rewards with dropped entries set to 0. */
  rewards: Float64Array;
  /** 1 where the sample was kept, 0 where dropped. */
  kept: Uint8Array;
  /** The threshold applied (quantile or δ), or null for kinds without one. */
  threshold: number | null;
}

export interface DropoutDefinition<K extends DropoutKind = DropoutKind> {
  kind: K;
  /** One line for help texts and the spec documentation. */
  description: string;
  /** Every parameter of the kind, in label order. */
  parameters: { readonly [P in keyof DropoutKinds[K] & string]-?: DropoutParameter };
  /** Applies the dropout to one batch of r; `config` has passed its parameters' checks. */
  apply(rewards: ArrayLike<number>, config: DropoutConfigOf<K>, rng: Rng): DropoutResult;
}

/** Keeps where `keep` says so: the rewards of the rest set to zero. */
export function keepWhere(
  rewards: ArrayLike<number>,
  keep: (r: number, i: number) => boolean,
  threshold: number | null,
): DropoutResult {
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

const GAMMA: DropoutParameter = {
  type: 'number',
  min: 0,
  max: 1,
  symbol: 'γ',
  description: 'fraction dropped: one value or a list (one cell each)',
};

/** The kinds of this file (others merge into {@link DropoutKinds} and register themselves). */
type BuiltinKind = 'none' | 'random' | 'quantile' | 'threshold';

const BUILTIN_KINDS: { readonly [K in BuiltinKind]: DropoutDefinition<K> } = {
  none: {
    kind: 'none',
    description: 'no dropout: every sample counts',
    parameters: {},
    apply: (rewards) => keepWhere(rewards, () => true, null),
  },
  random: {
    kind: 'random',
    description: '⌊γ·B⌋ random samples of each batch dropped (the paper’s baseline)',
    parameters: {
      gamma: GAMMA,
      replacement: {
        type: 'boolean',
        default: true,
        flag: 'distinct',
        description: 'draw the indices with replacement, as the authors’ code',
      },
    },
    apply: (rewards, { gamma, replacement = true }, rng) => {
      const B = rewards.length;
      const count = Math.floor(gamma * B);
      const dropped = new Set<number>();
      if (replacement) for (let i = 0; i < count; i++) dropped.add(rng.int(B));
      else for (const i of rng.choose(B, count)) dropped.add(i);
      return keepWhere(rewards, (_r, i) => !dropped.has(i), null);
    },
  },
  quantile: {
    kind: 'quantile',
    description: 'samples with r below the batch’s γ-quantile dropped (§5)',
    parameters: { gamma: GAMMA },
    apply: (rewards, { gamma }) => {
      const threshold = quantile(rewards, gamma);
      return keepWhere(rewards, (r) => r >= threshold, threshold);
    },
  },
  threshold: {
    kind: 'threshold',
    description: 'samples with r ≤ δ dropped (Eq. 6)',
    parameters: {
      delta: {
        type: 'number',
        symbol: 'δ',
        description: 'fixed threshold on r: one value or a list (one cell each)',
      },
    },
    apply: (rewards, { delta }) => keepWhere(rewards, (r) => r > delta, delta),
  },
};

const registry = new Map<string, DropoutDefinition>(
  Object.values(BUILTIN_KINDS).map((d) => [d.kind, d as unknown as DropoutDefinition]),
);

/** Adds a kind. Its name must be new and free of the label separator's ambiguity. */
export function registerDropoutKind<K extends DropoutKind>(definition: DropoutDefinition<K>): void {
  const { kind } = definition;
  if (registry.has(kind)) throw new Error(`dropout kind '${kind}' is already registered`);
  if (!/^[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*$/.test(kind))
    throw new Error(
      `dropout kind '${kind}': use lower-case words joined by '-', each starting with a letter`,
    );
  for (const [name, parameter] of Object.entries(definition.parameters as object)) {
    if (name === 'kind') throw new Error(`dropout kind '${kind}': a parameter cannot be 'kind'`);
    const p = parameter as DropoutParameter;
    if (p.type === 'boolean' && !/^[a-z][a-z0-9]*$/.test(p.flag))
      throw new Error(`dropout kind '${kind}': the flag of '${name}' must be one lower-case word`);
  }
  registry.set(kind, definition as unknown as DropoutDefinition);
}

/** The kinds a spec may name, in registration order. */
export function dropoutKinds(): DropoutKind[] {
  return [...registry.keys()] as DropoutKind[];
}

/** The definition of `kind`, or an error listing the kinds there are. */
export function dropoutDefinition(kind: string): DropoutDefinition {
  const definition = registry.get(kind);
  if (!definition)
    throw new RangeError(
      `Unknown dropout kind '${kind}'. Supported kinds are: ${dropoutKinds().join(', ')}`,
    );
  return definition;
}

/** Whether `kind` is registered. */
export function isDropoutKind(kind: unknown): kind is DropoutKind {
  return typeof kind === 'string' && registry.has(kind);
}

/** The parameters of `kind` as `[name, parameter]`, in label order. */
export function dropoutParameters(kind: string): Array<[string, DropoutParameter]> {
  return Object.entries(dropoutDefinition(kind).parameters) as Array<[string, DropoutParameter]>;
}

/** What is wrong with `value` as parameter `parameter`, or null. */
export function parameterProblem(parameter: DropoutParameter, value: unknown): string | null {
  if (parameter.type === 'boolean')
    return typeof value === 'boolean' ? null : 'must be true or false';
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
  if (parameter.integer && !Number.isInteger(value)) return 'must be an integer';
  if (parameter.min !== undefined && value < parameter.min) return `must be ≥ ${parameter.min}`;
  if (parameter.max !== undefined && value > parameter.max) return `must be ≤ ${parameter.max}`;
  return null;
}

/**
 * A stored or typed-in config checked against its kind and completed with the defaults of its
 * boolean parameters: the form every cell carries (and hashes). Throws a RangeError naming the
 * field and what is allowed.
 */
export function resolveDropoutConfig(value: unknown): DropoutConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new RangeError(`dropout: expected an object with a 'kind', got ${JSON.stringify(value)}`);
  const { kind, ...rest } = value as Record<string, unknown>;
  if (typeof kind !== 'string') throw new RangeError("dropout: 'kind' must be a string");
  const parameters = dropoutParameters(kind);
  const known = new Set(parameters.map(([name]) => name));
  for (const name of Object.keys(rest))
    if (!known.has(name))
      throw new RangeError(
        `${kind} dropout: '${name}' does not apply; it takes ${known.size ? [...known].join(', ') : 'nothing'}`,
      );
  const out: Record<string, unknown> = { kind };
  for (const [name, parameter] of parameters) {
    const given = rest[name];
    if (given === undefined && parameter.type === 'boolean') {
      out[name] = parameter.default;
      continue;
    }
    if (given === undefined) throw new RangeError(`${kind} dropout: '${name}' is required`);
    const problem = parameterProblem(parameter, given);
    if (problem) throw new RangeError(`${kind} dropout: ${name} ${problem}, got ${given}`);
    out[name] = given;
  }
  return out as DropoutConfig;
}

/** Applies `config` to one batch of rewards. `rng` is used by kinds that draw (random). */
export function applyDropout(
  rewards: ArrayLike<number>,
  config: DropoutConfig,
  rng: Rng,
): DropoutResult {
  const definition = dropoutDefinition((config as { kind: string }).kind);
  return definition.apply(rewards, resolveDropoutConfig(config) as never, rng);
}
