/**
 * The compute plan of a sweep: what it costs before it is queued. Cells, shards, behaviour
 * samples, training steps and evaluations, the FLOPs of each stage, and the time each stage takes
 * on each backend of a table of measured throughputs. Pure and deterministic: `rdlab plan` prints
 * it, and the API returns it as JSON for `?dryRun=true`.
 *
 * ```ts
 * import { parseSweepSpec } from '@rdlab/core';
 * import { formatPlan, planSweep } from '@rdlab/plan';
 *
 * const { spec, cells } = parseSweepSpec(yamlText);
 * const plan = planSweep(spec, cells); // JSON-serialisable
 * console.log(formatPlan(plan));
 * ```
 *
 * Cost model (Kaplan et al. 2020, "Scaling Laws for Neural Language Models", §2.1): a training
 * step costs ≈ 6·N FLOPs per token (forward 2·N, backward 4·N), a forward ≈ 2·N per token. Kaplan
 * et al. leave the embeddings out of N; here they count, since GPT-2's output head is the tied
 * embedding matrix (at V = 50,257, 31% of GPT-2 124M's parameters). Attention's own T-dependent
 * term is left out: at T = 30 it is under 1% of 2·N for GPT-2 124M. Each kind of work is divided
 * by a measured rate (`throughputs.json`):
 *
 * - `train`: optimiser steps (β's and R's pretraining, π's reward-dropout steps), at `trainFlops`;
 * - `forward`: teacher-forced scoring (β's Acc, token accuracy, R's classification), at
 *   `trainFlops` too: its batched matmuls have the shapes of a training step's;
 * - `decode`: KV-cached generation (β's samples, π's greedy evaluation), at `decodeFlops`, counted
 *   on generated tokens only (T − p per sequence): token-at-a-time matmuls are far less efficient.
 *
 * R (a CNN) costs 2·N per token with N its convolution and output weights (its embedding is a
 * lookup). Sequences count at their full `maxLength` (padding included), and a (dataset,
 * attribute) is assumed to yield every prefix asked for: both make the figures upper bounds, bar
 * where `lowerBound` says otherwise. The paper's setup: §5 "Hyperparameters" and §6.
 */
import {
  type Cell,
  CLASSIFIER_PRESET_NAMES,
  CLASSIFIER_PRESETS,
  DATASET_FORMATS,
  type DecoderConfig,
  gpt2ParameterCount,
  LM_PRESET_NAMES,
  LM_PRESETS,
  type LmModelRef,
  type LmPreset,
  resolveTarget,
  type SpecProblem,
  type SweepSpec,
} from '@rdlab/core';
import {
  type CellMemory,
  cellMemory,
  type MemoryEngine,
  memoryEngineOf,
  memoryProblems,
} from './memory.js';
import { THROUGHPUTS, type Throughput } from './throughputs.js';

export const PLAN_STAGES = ['prepare', 'bootstrap', 'train', 'evaluate'] as const;
export type PlanStage = (typeof PLAN_STAGES)[number];

/** FLOPs of one stage by kind of work (see the module comment). */
export interface WorkFlops {
  train: number;
  forward: number;
  decode: number;
}

export interface StagePlan {
  stage: PlanStage;
  /** prepare: datasets that train something; bootstrap: shards; train and evaluate: cells. */
  jobs: number;
  /** Null when a model it runs has an unknown size. */
  flops: number | null;
  byKind: WorkFlops | null;
  /** The figure counts less than the stage will do (e.g. an unknown sentence count). */
  lowerBound: boolean;
  note?: string;
}

export interface PlannedModel {
  role: 'behavior' | 'target' | 'reward';
  name: string;
  /** N of the cost model; null when unknown. */
  parameters: number | null;
  /** Where the size comes from. */
  source: string;
}

export interface BackendEstimate {
  backend: string;
  reference: boolean;
  measuredOn: string;
  machine: string;
  /** The rates used: FLOP/s of a training step and of KV-cached sampling. */
  trainFlopsPerS: number;
  decodeFlopsPerS: number;
  seconds: Record<PlanStage, number | null>;
  /** Null when a stage is unknown. */
  totalSeconds: number | null;
  /** Some stage counts less than it will do: the total is a lower bound. */
  lowerBound: boolean;
}

export interface SweepPlan {
  name: string;
  cells: number;
  datasets: number;
  /** (dataset, attribute) pairs: each bootstraps once. */
  attributes: number;
  shards: number;
  /** Behaviour samples drawn for training (the evaluation sets' are in the bootstrap FLOPs). */
  samples: number;
  trainingSteps: number;
  trainingTokens: number;
  /** Cell evaluations: before epoch 1 and after each epoch. */
  evaluations: number;
  models: PlannedModel[];
  stages: StagePlan[];
  estimates: BackendEstimate[];
  /** Worker memory of each target's cells on each engine of the estimates (see memory.ts). */
  memory: CellMemory[];
  /** Cells that fit no engine in `limits.workerMemoryGiB`: the sweep is refused. */
  problems: SpecProblem[];
  assumptions: string[];
}

/** `3,000,000`. */
export function thousands(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const epochsOf = (n: number) => `${n} epoch${n === 1 ? '' : 's'}`;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The preset a checkpoint name names (`…/gpt2`, `gpt2-large-finetuned`): the match that starts
 * first, the longest there, as a whole word. Hugging Face's own names map to theirs, and GPT-2 XL,
 * which no preset has, to none.
 */
export function presetFromName<P extends string>(
  checkpoint: string,
  presets: readonly P[],
  aliases: Record<string, P | null> = {},
): P | null {
  const base = (checkpoint.replace(/\/+$/, '').split('/').pop() ?? '').toLowerCase();
  let best: { at: number; length: number; preset: P | null } | null = null;
  const names: Array<[string, P | null]> = [
    ...presets.map((p): [string, P] => [p, p]),
    ...Object.entries(aliases),
  ];
  for (const [name, preset] of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const at = base.search(new RegExp(`(?<![a-z0-9])${escaped}(?![a-z0-9])`));
    if (at < 0) continue;
    if (!best || at < best.at || (at === best.at && name.length > best.length))
      best = { at, length: name.length, preset };
  }
  return best?.preset ?? null;
}

const LM_ALIASES: Record<string, LmPreset | null> = {
  'gpt2-small': 'gpt2',
  'gpt2-124m': 'gpt2',
  'gpt2-355m': 'gpt2-medium',
  'gpt2-774m': 'gpt2-large',
  'gpt2-xl': null,
  'gpt2-1.5b': null,
};

interface LmSize {
  config: DecoderConfig | null;
  source: string;
}

/** β's or a checkpoint target's architecture. `vocab` overrides a preset's (β's tokenizer). */
function lmSize(model: LmModelRef, vocab?: number): LmSize {
  if (model.preset)
    return {
      config: {
        ...LM_PRESETS[model.preset],
        vocab_size: vocab ?? LM_PRESETS[model.preset].vocab_size,
      },
      source: `preset ${model.preset}`,
    };
  const checkpoint = model.checkpoint ?? '';
  const preset = presetFromName(checkpoint, LM_PRESET_NAMES, LM_ALIASES);
  return preset
    ? { config: LM_PRESETS[preset], source: `preset ${preset}, from the checkpoint's name` }
    : { config: null, source: `unknown size: '${checkpoint}' names no preset` };
}

/** π's architecture, as `train.ts`'s `initialTarget` builds it. */
function targetSize(spec: SweepSpec, targetName: string, behavior: LmSize): LmSize {
  const target = spec.targets
    .map((t) => resolveTarget(t, spec.behavior.model))
    .find((t) => t.name === targetName);
  if (!target) throw new Error(`planSweep: the spec has no target '${targetName}'`);
  if (target.init === 'behavior') return { ...behavior, source: `β's (init: behavior)` };
  if (target.init === 'random') {
    if (!target.model.preset) return { ...behavior, source: `β's (init: random)` };
    const vocab = behavior.config?.vocab_size;
    return lmSize(target.model, vocab);
  }
  return lmSize(target.model);
}

/** R's compute weights (convolutions and output layer) and where they come from. */
function rewardSize(spec: SweepSpec, classes: number): { n: number | null; source: string } {
  const { model } = spec.rewardModel;
  const preset =
    model.preset ?? presetFromName(model.checkpoint ?? '', CLASSIFIER_PRESET_NAMES) ?? null;
  if (preset === null)
    return { n: null, source: `unknown size: '${model.checkpoint}' names no preset` };
  const c = CLASSIFIER_PRESETS[preset];
  const conv = sum(c.kernelSizes.map((k) => k * c.embedDim * c.filters + c.filters));
  const n = conv + c.kernelSizes.length * c.filters * classes + classes;
  return {
    n,
    source: model.preset ? `preset ${preset}` : `preset ${preset}, from the checkpoint's name`,
  };
}

const zero = (): WorkFlops => ({ train: 0, forward: 0, decode: 0 });
const total = (w: WorkFlops) => w.train + w.forward + w.decode;

/** The compute plan of `cells` of `spec` (see the module comment for the cost model). */
export function planSweep(
  spec: SweepSpec,
  cells: Cell[],
  throughputs: readonly Throughput[] = THROUGHPUTS,
): SweepPlan {
  const assumptions = new Set<string>();
  const { prefixLength: p, maxLength: T, batchSize: B, epochs } = spec.training;
  const { prefixesPerAttribute: P, samplesPerPrefix: K, shardSize } = spec.bootstrap;
  const generated = T - p;

  const behavior = lmSize(spec.behavior.model);
  const Nb = behavior.config ? gpt2ParameterCount(behavior.config) : null;
  const models: PlannedModel[] = [
    {
      role: 'behavior',
      name: spec.behavior.model.preset ?? spec.behavior.model.checkpoint ?? 'β',
      parameters: Nb,
      source: behavior.source,
    },
  ];
  if (Nb === null)
    assumptions.add(
      `β (${spec.behavior.model.checkpoint}) has an unknown size: bootstrap and evaluate are not estimated; a checkpoint named after a preset (${LM_PRESET_NAMES.join(', ')}) is sized from it`,
    );

  const targetN = new Map<string, number | null>();
  for (const name of new Set(cells.map((c) => c.target))) {
    const size = targetSize(spec, name, behavior);
    const n = size.config ? gpt2ParameterCount(size.config) : null;
    targetN.set(name, n);
    models.push({ role: 'target', name, parameters: n, source: size.source });
    if (n === null)
      assumptions.add(
        `target ${name} has an unknown size (${size.source}): train and evaluate are not estimated`,
      );
  }

  const datasetNames = [...new Set(cells.map((c) => c.dataset))];
  const datasets = datasetNames.map((name) => {
    const d = spec.datasets.find((x) => x.name === name);
    if (!d) throw new Error(`planSweep: the spec has no dataset '${name}'`);
    return d;
  });
  const pairs = [...new Set(cells.map((c) => `${c.dataset}\u0000${c.attribute}`))];

  // prepare: per dataset, β and R pretraining where no checkpoint is given.
  const prepare = zero();
  let prepareJobs = 0;
  let prepareLowerBound = false;
  let rewardParameters: { n: number | null; source: string } | null = null;
  for (const d of datasets) {
    const format = DATASET_FORMATS[d.format ?? 'builtin'].attributes;
    const classes = format === null ? d.attributes.length : Object.keys(format).length;
    const R = rewardSize(spec, classes);
    rewardParameters ??= R;
    const trainsBehavior = spec.behavior.model.preset !== undefined;
    const trainsReward = spec.rewardModel.model.preset !== undefined;
    if (trainsBehavior && spec.behavior.tokenizer.checkpoint === undefined)
      assumptions.add(
        'training the BPE tokenizer is not in the estimate (one pass over the training text, minutes)',
      );
    if (!trainsBehavior && !trainsReward) continue;
    prepareJobs += 1;
    const sentences = (limit: number) => {
      if (limit > 0) return limit * classes;
      prepareLowerBound = true;
      assumptions.add(
        `${d.name}: training sentences unknown (depends on the dataset; sentencesPerAttribute is 0, all of them): counted as bootstrap.prefixesPerAttribute (${thousands(P)}) per attribute of ${T} tokens, a lower bound`,
      );
      return P * d.attributes.length;
    };
    if (trainsBehavior && Nb !== null) {
      const { epochs: e, sentencesPerAttribute } = spec.behavior.training;
      prepare.train += 6 * Nb * sentences(sentencesPerAttribute) * e * T;
    }
    if (trainsReward && R.n !== null) {
      const { epochs: e, sentencesPerAttribute } = spec.rewardModel.training;
      // R reads whole sentences (up to its own maxLength); the lower bound counts T tokens each.
      const L =
        sentencesPerAttribute > 0
          ? CLASSIFIER_PRESETS[spec.rewardModel.model.preset ?? 'cnn'].maxLength
          : T;
      prepare.train += 6 * R.n * sentences(sentencesPerAttribute) * e * L;
    }
  }
  const Nr = rewardParameters?.n ?? null;
  models.push({
    role: 'reward',
    name: spec.rewardModel.model.preset ?? spec.rewardModel.model.checkpoint ?? 'R',
    parameters: Nr,
    source: rewardParameters?.source ?? 'unused',
  });
  const rewardUnknown = rewardParameters !== null && Nr === null;
  if (rewardUnknown)
    assumptions.add(
      `R (${spec.rewardModel.model.checkpoint}) has an unknown size: its forward passes are left out (a CNN costs far less than the LMs); bootstrap and evaluate are lower bounds`,
    );
  const Rn = Nr ?? 0;

  // bootstrap: per (dataset, attribute), P × K samples from β scored by R, and the held-out
  // evaluation set (one β sample per evaluation prefix).
  const shardsPerAttribute = Math.ceil(P / shardSize);
  const shards = shardsPerAttribute * pairs.length;
  const samples = P * K * pairs.length;
  const E = spec.evaluation.prefixes;
  const bootstrap: WorkFlops | null =
    Nb === null
      ? null
      : {
          train: 0,
          forward: 2 * Rn * (samples + E * pairs.length) * T,
          decode: 2 * Nb * (samples + E * pairs.length) * generated,
        };

  // train: per cell, epochs × steps of B × T tokens through π.
  const perEpoch = spec.training.samplesPerEpoch === 'all' ? P * K : P;
  const stepsPerEpoch = spec.training.dropLastBatch
    ? Math.floor(perEpoch / B)
    : Math.ceil(perEpoch / B);
  const samplesPerEpoch = spec.training.dropLastBatch ? stepsPerEpoch * B : perEpoch;
  const trainingSteps = stepsPerEpoch * epochs * cells.length;
  const tokensPerCell = samplesPerEpoch * epochs * T;
  const trainingTokens = tokensPerCell * cells.length;
  const targetSizes = cells.map((c) => targetN.get(c.target) ?? null);
  const known = targetSizes.every((n) => n !== null);
  const train: WorkFlops | null = known
    ? { train: sum(targetSizes.map((n) => 6 * (n ?? 0) * tokensPerCell)), forward: 0, decode: 0 }
    : null;

  // evaluate: epochs + 1 times per cell: π's greedy generations from E held-out prefixes, scored
  // by β (Acc) and R (Reward), π's token accuracy on β's samples; after each epoch also the
  // authors'-style figures on `trainingSamples` of the epoch's samples.
  const S = Math.min(spec.evaluation.trainingSamples, perEpoch);
  const evaluations = cells.length * (epochs + 1);
  const evaluate: WorkFlops | null =
    known && Nb !== null
      ? targetSizes.reduce<WorkFlops>((w, n) => {
          const Np = n ?? 0;
          w.decode += (epochs + 1) * 2 * Np * E * generated + epochs * 2 * Np * S * generated;
          w.forward +=
            (epochs + 1) * (2 * Nb * E * T + 2 * Rn * E * T + 2 * Np * E * T) +
            epochs * (2 * Rn * S * T + 2 * Np * S * T);
          return w;
        }, zero())
      : null;

  if (spec.targets.some((t) => resolveTarget(t, spec.behavior.model).freezeAllButLastBlock))
    assumptions.add(
      'freezeAllButLastBlock: counted as full training (6·N per token), an upper bound: the frozen blocks need no weight gradients',
    );
  assumptions.add(
    `each (dataset, attribute) yields the ${thousands(P)} training and ${thousands(E)} held-out prefixes asked for (fewer when too few sentences fit ${T} tokens)`,
  );

  const stages: StagePlan[] = [
    {
      stage: 'prepare',
      jobs: prepareJobs,
      flops: total(prepare),
      byKind: prepare,
      lowerBound: prepareLowerBound,
      note:
        prepareJobs === 0
          ? 'β and R come from checkpoints: nothing to train'
          : `pretrain ${[spec.behavior.model.preset ? `β (${epochsOf(spec.behavior.training.epochs)})` : '', spec.rewardModel.model.preset ? `R (${epochsOf(spec.rewardModel.training.epochs)})` : ''].filter(Boolean).join(' and ')} per dataset`,
    },
    {
      stage: 'bootstrap',
      jobs: shards,
      flops: bootstrap ? total(bootstrap) : null,
      byKind: bootstrap,
      lowerBound: rewardUnknown,
      note: `${pairs.length} × ${thousands(P)} prefixes × ${K} samples of ${generated} new tokens from β, scored by R; plus ${thousands(E)} held-out samples per attribute`,
    },
    {
      stage: 'train',
      jobs: cells.length,
      flops: train ? total(train) : null,
      byKind: train,
      lowerBound: false,
      note: `${thousands(stepsPerEpoch)} steps per epoch × ${epochsOf(epochs)} per cell, ${B} × ${T} tokens per step`,
    },
    {
      stage: 'evaluate',
      jobs: cells.length,
      flops: evaluate ? total(evaluate) : null,
      byKind: evaluate,
      lowerBound: rewardUnknown,
      note: `${epochs + 1} per cell (before epoch 1 and after each): ${thousands(E)} held-out greedy generations scored by β and R${S > 0 ? `; after each epoch also ${thousands(S)} training samples` : ''}`,
    },
  ];

  const estimates = throughputs.map((t): BackendEstimate => {
    const seconds = Object.fromEntries(
      stages.map((s) => [
        s.stage,
        s.byKind
          ? (s.byKind.train + s.byKind.forward) / t.trainFlops.flopsPerS +
            s.byKind.decode / t.decodeFlops.flopsPerS
          : null,
      ]),
    ) as Record<PlanStage, number | null>;
    const values = Object.values(seconds);
    const dates = [...new Set([t.trainFlops.measuredOn, t.decodeFlops.measuredOn])].sort();
    const machines = [...new Set([t.trainFlops.machine, t.decodeFlops.machine])];
    return {
      backend: t.backend,
      reference: t.reference,
      measuredOn: dates.join(' and '),
      machine: machines.join('; '),
      trainFlopsPerS: t.trainFlops.flopsPerS,
      decodeFlopsPerS: t.decodeFlops.flopsPerS,
      seconds,
      totalSeconds: values.every((v) => v !== null) ? sum(values as number[]) : null,
      lowerBound: stages.some((s) => s.lowerBound),
    };
  });

  // Memory: one figure per target and engine; the plan refuses targets that fit no engine.
  const targets = spec.targets.map((t) => resolveTarget(t, spec.behavior.model));
  // rdlab's engines always (a CUDA throughput row comes from its device check), plus the
  // references of the table.
  const engines = [
    ...new Set<MemoryEngine>([
      'native',
      'wasm',
      'cuda',
      ...throughputs.map((t) => memoryEngineOf(t.backend, t.reference)),
    ]),
  ];
  const memory: CellMemory[] = [];
  for (const name of new Set(cells.map((c) => c.target))) {
    const resolved = targets.find((t) => t.name === name);
    const size = targetSize(spec, name, behavior);
    for (const engine of engines) {
      const m = cellMemory(name, engine, {
        behavior: behavior.config,
        target: size.config,
        trainable: resolved?.freezeAllButLastBlock ? 'last-block' : 'all',
        rewardParameters: Rn,
        batchSize: B,
        maxLength: T,
      });
      if (m) memory.push(m);
    }
  }
  if (memory.some((m) => !m.runs))
    assumptions.add(
      'the CUDA engine runs GPT-2 only: OPT and XGLM cells run on native or wasm (memory figures marked "does not run")',
    );
  assumptions.add(
    "memory: β inference-only at the engine's weight dtype (fp32 on every rdlab engine, bf16 on the PyTorch reference), π fp32 weights + gradients + Adam m, v for its trainable parameters, activations of one step estimated",
  );
  const problems = memoryProblems(
    memory,
    new Map(targets.map((t, i) => [t.name, i])),
    spec.limits.workerMemoryGiB,
  );

  return {
    name: spec.name,
    cells: cells.length,
    datasets: datasets.length,
    attributes: pairs.length,
    shards,
    samples,
    trainingSteps,
    trainingTokens,
    evaluations,
    models,
    stages,
    estimates,
    memory,
    problems,
    assumptions: [...assumptions],
  };
}
