/**
 * Stage `train`: one cell. Epochs over the (dataset, attribute)'s behaviour samples, the cell's
 * reward dropout in each batch, the off-policy update of π (Algorithm 1, Eq. 7), a checkpoint and
 * a held-out evaluation after every epoch. A cell resumes from its last checkpoint, so a killed
 * worker costs at most one epoch; a cell whose result exists is not trained again.
 */
import {
  attributeReward,
  type Cell,
  createRng,
  dropoutLabel,
  type ObjectiveConfig,
  type ResolvedTarget,
  resolveTarget,
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
} from '@rdlab/ml';
import { getDirectory, maybeJson, putDirectory, putJson } from '@rdlab/store';
import { type EvalResult, type EvalSet, evaluateTarget } from './evaluate.js';
import { cellPrefix } from './keys.js';
import { checkpointPath, withScratch } from './local-files.js';
import { type MetricPoint, type StageContext, throwIfAborted } from './ports.js';
import type { PreparedDataset } from './prepare.js';
import type { BehaviorSample } from './shard-file.js';

export interface EpochRecord {
  epoch: number;
  steps: number;
  meanLoss: number;
  keptFraction: number;
  eval: Omit<EvalResult, 'perSample' | 'examples'>;
}

export interface CellResult {
  cell: Cell;
  dropout: string;
  /** Evaluation after the last epoch. */
  final: EvalResult;
  epochs: EpochRecord[];
  trainSeconds: number;
}

interface Latest {
  epoch: number;
  step: number;
  epochs: EpochRecord[];
  trainSeconds: number;
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
      initGpt2Parameters(config, createRng(cell.seed, 'target-init', cell.id)),
    );
  } else {
    model = (
      await loadLanguageModelCheckpoint(checkpointPath(ctx, target.model.checkpoint as string))
    ).model;
    if (model.config.vocab_size < prepared.tokenizer.vocabSize) {
      throw new Error(
        `target ${target.name}: its vocabulary (${model.config.vocab_size}) is smaller than the tokenizer's (${prepared.tokenizer.vocabSize})`,
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

/** A padded batch of behaviour samples with their β̄ and R for the cell's attribute. */
function batchOf(
  samples: BehaviorSample[],
  spec: SweepSpec,
  eosId: number,
  attributeIndex: number,
  numClasses: number,
) {
  const B = samples.length;
  const T = Math.max(...samples.map((s) => s.tokens.length));
  const ids = new Int32Array(B * T).fill(eosId);
  const mask = new Float32Array(B * T);
  const logprobs = new Float32Array(B * T);
  const logits = new Float32Array(B * numClasses);
  samples.forEach((s, b) => {
    ids.set(s.tokens, b * T);
    for (let t = s.prefixLength; t < s.tokens.length; t++) {
      mask[b * T + t] = 1;
      logprobs[b * T + t] = s.behaviorLogprobs[t - s.prefixLength] as number;
    }
    logits.set(s.rewardLogits, b * numClasses);
  });
  return {
    ids,
    mask,
    batchSize: B,
    length: T,
    behaviorLikelihood: sequenceLikelihood(
      { logprobs, mask, batchSize: B, length: T },
      spec.training.likelihood,
    ),
    reward: attributeReward(logits, numClasses, attributeIndex, spec.training.rewardSignal),
  };
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
  const done = await maybeJson<CellResult>(ctx.store, `${prefix}/result.json`);
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
  } = spec.training;
  const objectiveConfig: ObjectiveConfig = {
    objective,
    dropout: cell.dropout,
    importanceClip: importanceWeightClip,
  };

  // Resume from the last finished epoch, if any.
  let latest = await maybeJson<Latest>(ctx.store, `${prefix}/latest.json`);
  let target: LanguageModel;
  if (latest) {
    const epochKey = `${prefix}/epoch-${latest.epoch}`;
    target = await withScratch(ctx, async (dir) => {
      await getDirectory(ctx.store, epochKey, dir);
      return (await loadLanguageModelCheckpoint(dir)).model;
    });
    if (cellTarget(spec, cell).freezeAllButLastBlock)
      target.setTrainable(lastBlockParameterNames(target.config));
    ctx.progress.log(`cell ${cell.id}: resuming after epoch ${latest.epoch}`);
  } else {
    target = await initialTarget(ctx, spec, prepared, cell);
    latest = { epoch: 0, step: 0, epochs: [], trainSeconds: 0 };
  }

  const label = `${cell.dataset}/${cell.attribute} ${cell.target} ${dropoutLabel(cell.dropout)} seed ${cell.seed}`;
  const stepsPerEpoch = Math.ceil(samples.length / batchSize);
  const task = `train/${cell.id}`;
  ctx.progress.start({ id: task, label, total: stepsPerEpoch * epochs, unit: 'steps' });
  ctx.progress.advance(task, stepsPerEpoch * latest.epoch);
  let final: EvalResult | null = null;
  try {
    for (let epoch = latest.epoch; epoch < epochs; epoch++) {
      const started = performance.now();
      const batches = epochBatches(
        samples.length,
        batchSize,
        createRng(cell.seed, 'epoch', cell.id, epoch),
      );
      let lossSum = 0;
      let keptSum = 0;
      for (const [step, indices] of batches.entries()) {
        throwIfAborted(ctx.signal);
        const batch = batchOf(
          indices.map((i) => samples[i] as BehaviorSample),
          spec,
          prepared.tokenizer.eosId,
          attributeIndex,
          prepared.reward.numClasses,
        );
        const out = rewardDropoutStep(target, batch, {
          objective: objectiveConfig,
          likelihood,
          adam: { learningRate, gradientClipNorm },
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
      final = evaluateTarget(target, prepared, evalSet, cell.attribute, spec, cell.seed);
      const { perSample: _p, examples: _e, ...evalSummary } = final;
      const record: EpochRecord = {
        epoch: epoch + 1,
        steps: batches.length,
        meanLoss: lossSum / batches.length,
        keptFraction: keptSum / batches.length,
        eval: evalSummary,
      };
      await ctx.metrics.record(
        Object.entries(evalSummary).map(
          ([name, value]): MetricPoint => ({
            cell: cell.id,
            stage: 'eval',
            epoch: epoch + 1,
            step: latest!.step + batches.length,
            name: `eval/${name}`,
            value,
          }),
        ),
      );
      // Checkpoint, then move the pointer: a crash between the two repeats at most this epoch.
      await withScratch(ctx, async (dir) => {
        await saveLanguageModel(dir, target, {
          tokenizer: prepared.tokenizer,
          trainerState: { epoch: epoch + 1, cell: cell.id },
        });
        await putDirectory(ctx.store, `${prefix}/epoch-${epoch + 1}`, dir);
      });
      latest = {
        epoch: epoch + 1,
        step: latest.step + batches.length,
        epochs: [...latest.epochs, record],
        trainSeconds: latest.trainSeconds + seconds,
      };
      await putJson(ctx.store, `${prefix}/latest.json`, latest);
    }
    if (!final) final = evaluateTarget(target, prepared, evalSet, cell.attribute, spec, cell.seed);
  } finally {
    target.dispose();
    ctx.progress.finish(task);
  }
  const result: CellResult = {
    cell,
    dropout: dropoutLabel(cell.dropout),
    final,
    epochs: latest.epochs,
    trainSeconds: latest.trainSeconds,
  };
  await putJson(ctx.store, `${prefix}/result.json`, result);
  return result;
}
