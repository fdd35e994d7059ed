/**
 * Stage `train`: one cell. The start point (π before training) is evaluated first; then epochs
 * over the (dataset, attribute)'s behaviour samples — by default epoch e reads the e-th sample of
 * every prefix, as the authors' one generation file per epoch — the cell's reward dropout in each
 * batch, the off-policy update of π (Algorithm 1, Eq. 7), a checkpoint and a held-out evaluation
 * after every epoch. A cell resumes from its last checkpoint, so a killed worker costs at most
 * one epoch; a cell whose result exists is not trained again.
 *
 * Cells that differ only in their dropout are paired: π's random initialisation and the epoch
 * order are keyed by `cell.pair` (dataset, attribute, target, seed, …), never by the cell id.
 */
import {
  type Cell,
  createRng,
  dropoutLabel,
  type ObjectiveConfig,
  type ResolvedTarget,
  resolveTarget,
  rewardModelScores,
  type SweepSpec,
  sequenceLikelihood,
} from '@rdlab/core';
import {
  createLanguageModel,
  epochBatches,
  initGpt2Parameters,
  type LanguageModel,
  lastBlockParameterNames,
  loadLanguageModelCheckpoint,
  presetConfig,
  rewardDropoutStep,
  saveLanguageModel,
  type TextTokenizer,
} from '@rdlab/ml';
import { cellPrefix, cellResultKey } from '@rdlab/plan';
import { type ArtifactStore, getDirectory, maybeJson, putDirectory, putJson } from '@rdlab/store';
import {
  type EvalResult,
  type EvalSet,
  type EvalSummary,
  evaluateTarget,
  summary,
  type TrainingMetrics,
  trainingMetrics,
} from './evaluate.js';
import { checkpointPath, withScratch } from './local-files.js';
import { type MetricPoint, type StageContext, throwIfAborted } from './ports.js';
import type { PreparedDataset } from './prepare.js';
import { type TargetTokens, targetTokensOf } from './retokenize.js';
import type { BehaviorSample } from './shard-file.js';
import { targetTokenizer } from './tokenizers.js';

export interface EpochRecord {
  epoch: number;
  steps: number;
  meanLoss: number;
  keptFraction: number;
  eval: EvalSummary;
  /** The authors'-style figures on this epoch's training samples (null when switched off). */
  train: TrainingMetrics | null;
}

export interface CellResult {
  /** The cell, its dropout structured as stored. */
  cell: Cell;
  /** `dropoutLabel(cell.dropout)`, for tables (results written before it was named so say `dropout`). */
  dropoutLabel: string;
  /** π before training (epoch 0), on the same held-out prefixes. */
  start: EvalResult;
  /** Evaluation after the last epoch. */
  final: EvalResult;
  epochs: EpochRecord[];
  trainSeconds: number;
}

interface Latest {
  /** Epochs finished. */
  epoch: number;
  /** Steps of the finished epochs. */
  step: number;
  start: EvalResult;
  epochs: EpochRecord[];
  trainSeconds: number;
  /** An epoch stopped between steps by a released worker: resume at `step` from `key`. */
  partial?: { epoch: number; step: number; lossSum: number; keptSum: number; key: string };
}

/** The resolved target of a cell. */
function cellTarget(spec: SweepSpec, cell: Cell): ResolvedTarget {
  const target = spec.targets
    .map((t) => resolveTarget(t, spec.behavior.model))
    .find((t) => t.name === cell.target);
  if (!target) throw new Error(`cell ${cell.id}: the spec has no target '${cell.target}'`);
  return target;
}

/** π before training: β's weights, fresh weights, or a pretrained checkpoint (Figure 3). */
async function initialTarget(
  ctx: StageContext,
  spec: SweepSpec,
  prepared: PreparedDataset,
  cell: Cell,
  tokenizer: TextTokenizer,
): Promise<LanguageModel> {
  const target = cellTarget(spec, cell);
  let model: LanguageModel;
  if (target.init === 'behavior') {
    model = createLanguageModel(prepared.behavior.config, prepared.behavior.getParameters());
  } else if (target.init === 'random') {
    const config = target.model.preset
      ? presetConfig(target.model.preset, prepared.tokenizer.vocabSize)
      : prepared.behavior.config;
    model = createLanguageModel(
      config,
      initGpt2Parameters(config, createRng(cell.seed, 'target-init', cell.pair)),
    );
  } else {
    model = (
      await loadLanguageModelCheckpoint(checkpointPath(ctx, target.model.checkpoint as string))
    ).model;
    if (model.config.vocab_size < tokenizer.vocabSize) {
      throw new Error(
        `target ${target.name}: its vocabulary (${model.config.vocab_size}) is smaller than the tokenizer's (${tokenizer.vocabSize})`,
      );
    }
  }
  if (model.config.n_positions < spec.training.maxLength)
    throw new Error(
      `target ${target.name}: n_positions ${model.config.n_positions} < maxLength ${spec.training.maxLength}`,
    );
  if (target.freezeAllButLastBlock) model.setTrainable(lastBlockParameterNames(model.config));
  return model;
}

/**
 * The samples epoch `epoch` (0-based) trains on: the (e mod K)-th sample of every prefix, as the
 * authors' `RLHF_train.py:999-1005` reads generation file e in epoch e; or all of them.
 */
export function epochSamples(
  samples: BehaviorSample[],
  spec: SweepSpec,
  epoch: number,
): BehaviorSample[] {
  if (spec.training.samplesPerEpoch === 'all') return samples;
  const k = epoch % spec.bootstrap.samplesPerPrefix;
  return samples.filter((s) => s.sampleIndex === k);
}

/**
 * A padded batch of behaviour samples with their β̄ and R for the cell's attribute. With
 * `targetTokens` (β and π tokenize differently, see retokenize.ts) π reads its own ids of β's
 * text and its mask covers its own continuation tokens; β̄ is computed on β's tokens either way,
 * one number per sequence, and R's logits are per sequence already.
 */
export function batchOf(
  samples: BehaviorSample[],
  spec: SweepSpec,
  eosId: number,
  attributeIndex: number,
  numClasses: number,
  targetTokens: ReadonlyMap<BehaviorSample, TargetTokens> | null = null,
) {
  const B = samples.length;
  const T = Math.max(...samples.map((s) => s.tokens.length));
  const logprobs = new Float32Array(B * T);
  const behaviorMask = new Float32Array(B * T);
  const logits = new Float32Array(B * numClasses);
  const sampling = spec.training.behaviorProbabilities === 'sampling';
  samples.forEach((s, b) => {
    const source = sampling ? s.samplingLogprobs : s.behaviorLogprobs;
    for (let t = s.prefixLength; t < s.tokens.length; t++) {
      behaviorMask[b * T + t] = 1;
      logprobs[b * T + t] = source[t - s.prefixLength] as number;
    }
    logits.set(s.rewardLogits, b * numClasses);
  });
  const behaviorLikelihood = sequenceLikelihood(
    { logprobs, mask: behaviorMask, batchSize: B, length: T },
    spec.training.likelihood,
  );
  const own = (s: BehaviorSample) =>
    targetTokens?.get(s) ?? { tokens: s.tokens, prefixLength: s.prefixLength };
  const L = targetTokens ? Math.max(...samples.map((s) => own(s).tokens.length)) : T;
  const ids = new Int32Array(B * L).fill(eosId);
  const mask = targetTokens ? new Float32Array(B * L) : behaviorMask;
  samples.forEach((s, b) => {
    const { tokens, prefixLength } = own(s);
    ids.set(tokens, b * L);
    if (targetTokens) for (let t = prefixLength; t < tokens.length; t++) mask[b * L + t] = 1;
  });
  return {
    ids,
    mask,
    batchSize: B,
    length: L,
    behaviorLikelihood,
    rewardModelScore: rewardModelScores(
      logits,
      numClasses,
      attributeIndex,
      spec.training.rewardSignal,
    ),
  };
}

/** An evaluation as metric points: `eval/*` held out, `train_eval/*` the authors'-style figures. */
async function recordEval(
  ctx: StageContext,
  cell: string,
  epoch: number,
  step: number,
  held: EvalSummary,
  train?: TrainingMetrics | null,
): Promise<void> {
  const point = (name: string, value: number): MetricPoint => ({
    cell,
    stage: 'eval',
    epoch,
    step,
    name,
    value,
  });
  await ctx.metrics.record([
    ...Object.entries(held).map(([name, value]) => point(`eval/${name}`, value)),
    ...Object.entries(train ?? {}).map(([name, value]) => point(`train_eval/${name}`, value)),
  ]);
}

/** A cell's stored result, or null; results stored before `dropoutLabel` get it from their cell. */
export async function readCellResult(
  store: ArtifactStore,
  cellId: string,
): Promise<CellResult | null> {
  const stored = await maybeJson<CellResult & { dropout?: string }>(store, cellResultKey(cellId));
  if (!stored) return null;
  const { dropout: _legacyLabel, ...result } = stored;
  return { ...result, dropoutLabel: result.dropoutLabel ?? dropoutLabel(result.cell.dropout) };
}

export async function trainCell(
  ctx: StageContext,
  spec: SweepSpec,
  prepared: PreparedDataset,
  cell: Cell,
  samples: BehaviorSample[],
  evalSet: EvalSet,
): Promise<CellResult> {
  const prefix = cellPrefix(cell.id);
  const done = await readCellResult(ctx.store, cell.id);
  if (done) return done;
  if (samples.length === 0)
    throw new Error(`cell ${cell.id}: no behaviour samples for ${cell.dataset}/${cell.attribute}`);
  const attributeIndex = prepared.classes.indexOf(cell.attribute);
  const {
    batchSize,
    epochs,
    learningRate,
    gradientClipNorm,
    objective,
    importanceWeightClip,
    likelihood,
    dropLastBatch,
  } = spec.training;
  const objectiveConfig: ObjectiveConfig = {
    objective,
    dropout: cell.dropout,
    importanceWeightClip,
  };
  // π's tokenizer; when it is not β's, π trains on its own ids of β's text (`RLHF_train.py`
  // re-encodes the decoded samples with the target's tokenizer).
  const tokenizer = await targetTokenizer(ctx, spec, prepared.tokenizer, cell);

  // Resume from the last finished epoch, if any.
  const stored = await maybeJson<Latest>(ctx.store, `${prefix}/latest.json`);
  let latest: Latest;
  let target: LanguageModel;
  if (stored) {
    latest = stored;
    const epochKey = latest.partial?.key ?? `${prefix}/epoch-${latest.epoch}`;
    target = await withScratch(ctx, async (dir) => {
      await getDirectory(ctx.store, epochKey, dir);
      return (await loadLanguageModelCheckpoint(dir)).model;
    });
    if (cellTarget(spec, cell).freezeAllButLastBlock)
      target.setTrainable(lastBlockParameterNames(target.config));
    ctx.progress.log(
      `cell ${cell.id}: resuming after epoch ${latest.epoch}${latest.partial ? `, step ${latest.partial.step}` : ''}`,
    );
  } else {
    target = await initialTarget(ctx, spec, prepared, cell, tokenizer);
    // The start point: the paper's Pareto improvement is judged against π before training.
    const start = evaluateTarget(
      target,
      prepared,
      evalSet,
      cell.attribute,
      spec,
      cell.seed,
      tokenizer,
    );
    await recordEval(ctx, cell.id, 0, 0, summary(start));
    latest = { epoch: 0, step: 0, start, epochs: [], trainSeconds: 0 };
  }

  const targetTokens = targetTokensOf(
    samples,
    prepared.tokenizer,
    tokenizer,
    target.config.n_positions,
  );
  const label = `${cell.dataset}/${cell.attribute} ${cell.target} ${dropoutLabel(cell.dropout)} seed ${cell.seed}`;
  const stepsOf = (n: number) =>
    dropLastBatch ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  const stepsPerEpoch = stepsOf(epochSamples(samples, spec, 0).length);
  if (stepsPerEpoch === 0)
    throw new Error(
      `cell ${cell.id}: ${epochSamples(samples, spec, 0).length} samples per epoch make no batch of ${batchSize}; lower training.batchSize or set dropLastBatch: false`,
    );
  const task = `train/${cell.id}`;
  ctx.progress.start({ id: task, label, total: stepsPerEpoch * epochs, unit: 'steps' });
  ctx.progress.advance(task, stepsPerEpoch * latest.epoch + (latest.partial?.step ?? 0));
  let final: EvalResult | null = null;
  try {
    for (let epoch = latest.epoch; epoch < epochs; epoch++) {
      const started = performance.now();
      const data = epochSamples(samples, spec, epoch);
      const batches = epochBatches(
        data.length,
        batchSize,
        createRng(cell.seed, 'epoch', cell.pair, epoch),
        dropLastBatch,
      );
      // A partial epoch resumes at its next step, with the same order and the same draws.
      const partial = latest.partial?.epoch === epoch ? latest.partial : undefined;
      let lossSum = partial?.lossSum ?? 0;
      let keptSum = partial?.keptSum ?? 0;
      for (const [step, indices] of batches.entries()) {
        if (partial && step < partial.step) continue;
        throwIfAborted(ctx.signal);
        if (ctx.release?.aborted) {
          // A worker shutting down: checkpoint between steps, then hand the cell over.
          const key = `${prefix}/epoch-${epoch}-step-${step}`;
          await withScratch(ctx, async (dir) => {
            await saveLanguageModel(dir, target, {
              tokenizer,
              trainerState: { epoch, step, cell: cell.id },
            });
            await putDirectory(ctx.store, key, dir);
          });
          await ctx.metrics.settle?.();
          await putJson(ctx.store, `${prefix}/latest.json`, {
            ...latest,
            partial: { epoch, step, lossSum, keptSum, key },
          } satisfies Latest);
          throw new Error(`cell ${cell.id}: released at epoch ${epoch + 1}, step ${step}`);
        }
        const batch = batchOf(
          indices.map((i) => data[i] as BehaviorSample),
          spec,
          tokenizer.eosId,
          attributeIndex,
          prepared.reward.numClasses,
          targetTokens,
        );
        const out = rewardDropoutStep(target, batch, {
          objective: objectiveConfig,
          likelihood,
          adam: { learningRate, gradientClipNorm },
          // Random dropout's own draws: the one thing paired cells do not share.
          rng: createRng(cell.seed, 'dropout', cell.id, epoch, step),
        });
        ctx.counters.trainSteps += 1;
        lossSum += out.loss;
        keptSum += out.metrics['dropout/kept_fraction'] ?? 1;
        const globalStep = latest.step + step + 1;
        await ctx.metrics.record(
          Object.entries(out.metrics).map(
            ([name, value]): MetricPoint => ({
              cell: cell.id,
              stage: 'train',
              epoch: epoch + 1,
              step: globalStep,
              name,
              value,
            }),
          ),
        );
        ctx.progress.advance(task, 1, `epoch ${epoch + 1}/${epochs} loss ${out.loss.toFixed(4)}`);
      }
      const seconds = (performance.now() - started) / 1000;
      final = evaluateTarget(target, prepared, evalSet, cell.attribute, spec, cell.seed, tokenizer);
      const train = trainingMetrics(
        target,
        prepared,
        data,
        cell.attribute,
        spec,
        cell.pair,
        epoch,
        tokenizer,
        targetTokens,
      );
      const record: EpochRecord = {
        epoch: epoch + 1,
        steps: batches.length,
        meanLoss: lossSum / batches.length,
        keptFraction: keptSum / batches.length,
        eval: summary(final),
        train,
      };
      await recordEval(ctx, cell.id, epoch + 1, latest.step + batches.length, record.eval, train);
      // Checkpoint, then move the pointer: a crash between the two repeats at most this epoch.
      await withScratch(ctx, async (dir) => {
        await saveLanguageModel(dir, target, {
          tokenizer,
          trainerState: { epoch: epoch + 1, cell: cell.id },
        });
        await putDirectory(ctx.store, `${prefix}/epoch-${epoch + 1}`, dir);
      });
      const { partial: _done, ...finished } = latest;
      latest = {
        ...finished,
        epoch: epoch + 1,
        step: latest.step + batches.length,
        start: latest.start,
        epochs: [...latest.epochs, record],
        trainSeconds: latest.trainSeconds + seconds,
      };
      await ctx.metrics.settle?.();
      await putJson(ctx.store, `${prefix}/latest.json`, latest);
    }
    if (!final)
      final = evaluateTarget(target, prepared, evalSet, cell.attribute, spec, cell.seed, tokenizer);
  } finally {
    target.dispose();
    ctx.progress.finish(task);
  }
  const result: CellResult = {
    cell,
    dropoutLabel: dropoutLabel(cell.dropout),
    start: latest.start,
    final,
    epochs: latest.epochs,
    trainSeconds: latest.trainSeconds,
  };
  await putJson(ctx.store, cellResultKey(cell.id), result);
  return result;
}
