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
import { presetFromName } from './preset-name.js';
import { type RewardCost, rewardCost } from './reward-cost.js';
import { THROUGHPUTS, type Throughput } from './throughputs.js';

export { presetFromName } from './preset-name.js';

export const PLAN_STAGES = ['prepare', 'bootstrap', 'train', 'evaluate'] as const;
export type PlanStage = (typeof PLAN_STAGES)[number];

/** FLOPs of one stage by kind of work (see the module comment). */
export interface WorkFlops {
  train: number;
  forward: number;
  decode: number;
  /**
   * R's work (training or fine-tuning it, and scoring with it): priced at `trainFlops` of the
   * engine R runs on, which for a BERT R on a cuda worker is the CPU native engine's.
   */
  reward: number;
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
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;

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

const zero = (): WorkFlops => ({ train: 0, forward: 0, decode: 0, reward: 0 });
const total = (w: WorkFlops) => w.train + w.forward + w.decode + w.reward;

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
  let reward: RewardCost | null = null;
  for (const d of datasets) {
    const format = DATASET_FORMATS[d.format ?? 'builtin'].attributes;
    const classes = format === null ? d.attributes.length : Object.keys(format).length;
    const R = rewardCost(spec, classes);
    reward ??= R;
    const trainsBehavior = spec.behavior.model.preset !== undefined;
    const finetunes = R?.family === 'bert' && spec.rewardModel.finetune !== false;
    const trainsReward = spec.rewardModel.model.preset !== undefined || finetunes;
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
    if (trainsReward && R !== null && R.family === 'cnn') {
      const { epochs: e, sentencesPerAttribute } = spec.rewardModel.training;
      // R reads whole sentences (up to its own maxLength); the lower bound counts T tokens each.
      const L = sentencesPerAttribute > 0 ? R.trainingTokens : T;
      prepare.reward += 6 * R.parameters * sentences(sentencesPerAttribute) * e * L;
    }
    const finetune = spec.rewardModel.finetune;
    if (finetunes && R !== null && finetune) {
      // Every epoch up to the cap (early stopping usually ends sooner: an upper bound), each
      // sentence at R's maxLength; the held-out accuracy after each epoch is left out.
      prepare.reward +=
        3 *
        R.trainingForwardPerSequence *
        sentences(finetune.sentencesPerAttribute) *
        finetune.epochs;
      assumptions.add(
        `R (BERT) fine-tuning: ${finetune.epochs} epochs at most (early stopping with patience ${finetune.patience} usually ends sooner), ${R.trainingTokens} tokens per sentence, 3× the forward FLOPs; its held-out evaluation each epoch is not counted`,
      );
    }
  }
  models.push({
    role: 'reward',
    name: spec.rewardModel.model.preset ?? spec.rewardModel.model.checkpoint ?? 'R',
    parameters: reward?.parameters ?? null,
    source: reward?.source ?? 'unused',
  });
  const Rn = reward?.parameters ?? 0;
  // R's forward FLOPs per scored β sample (at β's T tokens for the CNN, R's own for BERT).
  const Rs = reward?.forwardPerSequence ?? 0;
  const bertReward = reward?.family === 'bert';
  if (bertReward)
    assumptions.add(
      `R (BERT): ${thousands(Rs / (reward?.tokens ?? 1))} forward FLOPs per token over ${reward?.tokens} WordPiece tokens per sample (2·12·L·C² + 4·L·T·C); memory ${gib(16 * Rn)} while fine-tuning (fp32 weights, gradients, Adam m, v), ${gib(4 * Rn)} frozen in every cell. The CUDA engine has no BERT: on cuda workers R is fine-tuned and scores on the CPU native engine, priced at native's measured rate and held in host memory`,
    );

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
          forward: 0,
          decode: 2 * Nb * (samples + E * pairs.length) * generated,
          reward: Rs * (samples + E * pairs.length),
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
    ? {
        train: sum(targetSizes.map((n) => 6 * (n ?? 0) * tokensPerCell)),
        forward: 0,
        decode: 0,
        reward: 0,
      }
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
          w.forward += (epochs + 1) * (2 * Nb * E * T + 2 * Np * E * T) + epochs * 2 * Np * S * T;
          w.reward += (epochs + 1) * Rs * E + epochs * Rs * S;
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
          : `pretrain ${[spec.behavior.model.preset ? `β (${epochsOf(spec.behavior.training.epochs)})` : '', spec.rewardModel.model.preset ? `R (${epochsOf(spec.rewardModel.training.epochs)})` : '', bertReward && spec.rewardModel.finetune ? `fine-tune R (BERT, ≤ ${epochsOf(spec.rewardModel.finetune.epochs)})` : ''].filter(Boolean).join(' and ')} per dataset`,
    },
    {
      stage: 'bootstrap',
      jobs: shards,
      flops: bootstrap ? total(bootstrap) : null,
      byKind: bootstrap,
      lowerBound: false,
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
      lowerBound: false,
      note: `${epochs + 1} per cell (before epoch 1 and after each): ${thousands(E)} held-out greedy generations scored by β and R${S > 0 ? `; after each epoch also ${thousands(S)} training samples` : ''}`,
    },
  ];

  // The CUDA engine has no BERT: a cuda worker runs a BERT R on the native engine.
  const nativeRate = throughputs.find((t) => t.backend === 'native')?.trainFlops.flopsPerS;
  const estimates = throughputs.map((t): BackendEstimate => {
    const rewardRate =
      bertReward && memoryEngineOf(t.backend, t.reference) === 'cuda' && nativeRate
        ? nativeRate
        : t.trainFlops.flopsPerS;
    const seconds = Object.fromEntries(
      stages.map((s) => [
        s.stage,
        s.byKind
          ? (s.byKind.train + s.byKind.forward) / t.trainFlops.flopsPerS +
            s.byKind.decode / t.decodeFlops.flopsPerS +
            s.byKind.reward / rewardRate
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
        // A BERT R on a cuda worker lives in host memory (the native engine), not the GPU's.
        rewardParameters: bertReward && engine === 'cuda' ? 0 : Rn,
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
