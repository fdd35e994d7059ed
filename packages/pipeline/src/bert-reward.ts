/**
 * The BERT reward model R of a dataset, the authors' recipe (`code/finetune_BERT.py`): from a
 * pretrained checkpoint, fine-tuned on the training split (label = the class's index in the
 * dataset's class order, text through R's own WordPiece), evaluated on the held-out split after
 * every epoch, stopped after `patience` epochs without a better accuracy, the best epoch's weights
 * kept. Content-addressed (`bertRewardKey`): every cell, β and experiment that needs the same R
 * fine-tunes it once; later they load it, frozen, for scoring only.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng, type ResolvedDataset, type RewardFinetune, type SweepSpec } from '@rdlab/core';
import type { LoadedDataset, TextRecord } from '@rdlab/data';
import {
  type BertClassifier,
  type BertConfig,
  classifierAccuracy,
  createBertClassifier,
  fineTuneClassifier,
  type HfTokenizer,
  initBertParameters,
  type LabelledSequence,
  loadHfTokenizer,
  readBertCheckpoint,
  resolveCheckpoint,
  saveBertClassifier,
  type TensorMap,
} from '@rdlab/ml';
import { bertRewardKey } from '@rdlab/plan';
import { directoryComplete, getDirectory, putDirectory } from '@rdlab/store';
import { checkpointIdentity } from './checkpoint-identity.js';
import { withScratch } from './local-files.js';
import type { StageContext } from './ports.js';
import { bertInput, type RewardTextInput } from './reward-scorer.js';

/** A BERT checkpoint that cannot be R for the dataset (its head or tokenizer does not fit). */
export class RewardModelError extends Error {
  readonly code = 'RDLAB_REWARD_MODEL_MISMATCH';
}

const FIELD = 'rewardModel.model.checkpoint';
const TRAINER_STATE = 'trainer_state.json';
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt'];
const HEAD = ['classifier.weight', 'classifier.bias'];

export interface BertReward {
  classifier: BertClassifier;
  /** R's classes in its output order. */
  classes: string[];
  text: RewardTextInput;
  key: string;
  /** Best held-out accuracy of the fine-tuning (null for `finetune: false`). */
  accuracy: number | null;
}

/**
 * R's classes in output order for a checkpoint whose head is trained: its `num_labels` must be
 * the dataset's class count, and named labels (id2label) the dataset's classes in some order.
 */
function headClasses(config: BertConfig, classes: string[], ref: string): string[] {
  if (config.num_labels !== classes.length)
    throw new RewardModelError(
      `${FIELD} ${ref}: its classifier head has ${config.num_labels} labels; the dataset has ${classes.length} classes (${classes.join(', ')}). Give a checkpoint without a head (it is initialised and fine-tuned) or one fine-tuned on these classes`,
    );
  if (config.labels.every((l, i) => l === `LABEL_${i}`)) return classes;
  const missing = classes.filter((c) => !config.labels.includes(c));
  if (missing.length > 0)
    throw new RewardModelError(
      `${FIELD} ${ref}: its labels are ${config.labels.join(', ')}; the dataset needs ${missing.join(', ')}`,
    );
  return config.labels;
}

function labelled(
  records: Map<string, TextRecord[]>,
  classes: string[],
  tokenizer: HfTokenizer,
  maxLength: number,
  limit: number,
  seed: string,
): LabelledSequence[] {
  const out: LabelledSequence[] = [];
  classes.forEach((cls, label) => {
    let rows = records.get(cls) ?? [];
    if (limit > 0 && rows.length > limit)
      rows = createRng(seed, cls)
        .choose(rows.length, limit)
        .map((i) => rows[i] as TextRecord);
    for (const r of rows) out.push({ ids: bertInput(tokenizer, r.text, maxLength), label });
  });
  return out;
}

function textInput(tokenizer: HfTokenizer, config: BertConfig, maxLength: number) {
  if (tokenizer.vocabSize > config.vocab_size)
    throw new RewardModelError(
      `${FIELD}: its tokenizer has ${tokenizer.vocabSize} tokens, more than config.json's vocab_size ${config.vocab_size}`,
    );
  return {
    tokenizer,
    maxLength: Math.min(maxLength, config.max_position_embeddings),
    padId: config.pad_token_id,
  };
}

async function copyTokenizer(from: string, to: string): Promise<void> {
  for (const name of TOKENIZER_FILES)
    await copyFile(join(from, name), join(to, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
}

/** Loads a stored fine-tuned R (frozen). */
async function loadStored(ctx: StageContext, key: string, settings: RewardFinetune) {
  return withScratch(ctx, async (dir) => {
    await getDirectory(ctx.store, key, dir);
    const { config, parameters } = await readBertCheckpoint(dir);
    const state = JSON.parse(await readFile(join(dir, TRAINER_STATE), 'utf8')) as {
      classes: string[];
      eval_accuracy: number;
    };
    const tokenizer = await loadHfTokenizer(dir);
    return {
      classifier: createBertClassifier(config, parameters, { frozen: true }),
      classes: state.classes,
      text: textInput(tokenizer, config, settings.maxLength),
      accuracy: state.eval_accuracy,
    };
  });
}

/** Fine-tunes R from checkpoint folder `dir` (see the module comment) and stores it at `key`. */
async function fineTune(
  ctx: StageContext,
  data: LoadedDataset,
  dir: string,
  key: string,
  settings: RewardFinetune,
): Promise<Omit<BertReward, 'key'>> {
  const tokenizer = await loadHfTokenizer(dir);
  const read = await readBertCheckpoint(dir, { seed: settings.seed });
  let { config, parameters } = read;
  let classes: string[];
  if (read.initialised.includes('classifier.weight')) {
    // A pretrained-only checkpoint: a head of the dataset's classes, initialised as transformers does.
    classes = data.classes;
    config = { ...config, num_labels: classes.length, labels: classes };
    parameters = new Map([
      ...[...parameters].filter(([name]) => !HEAD.includes(name)),
      ...initBertParameters(config, createRng(settings.seed, 'bert-head'), new Set(HEAD)),
    ]) as TensorMap;
  } else classes = headClasses(config, data.classes, dir);
  const text = textInput(tokenizer, config, settings.maxLength);
  const seedLabel = `${key}/sentences`;
  const train = labelled(
    data.train,
    classes,
    tokenizer,
    text.maxLength,
    settings.sentencesPerAttribute,
    seedLabel,
  );
  const evaluation = labelled(data.eval, classes, tokenizer, text.maxLength, 0, seedLabel);
  const model = createBertClassifier(config, parameters);
  const task = `prepare/${data.name}/reward`;
  const stepsPerEpoch = Math.ceil(train.length / settings.batchSize);
  ctx.progress.start({
    id: task,
    label: `fine-tune R (BERT) on ${data.name} (${train.length} sentences)`,
    total: stepsPerEpoch * settings.epochs,
    unit: 'steps',
  });
  let best = { accuracy: -1, epoch: -1, parameters: model.getParameters() };
  const losses: number[] = [];
  try {
    const epochMetrics: Array<Promise<void> | void> = [];
    fineTuneClassifier(model, train, {
      epochs: settings.epochs,
      batchSize: settings.batchSize,
      learningRate: settings.learningRate,
      seed: settings.seed,
      padId: text.padId,
      onStep: (p) =>
        ctx.progress.advance(task, 1, `epoch ${p.epoch + 1}, loss ${p.loss.toFixed(3)}`),
      onEpoch: (epoch, loss) => {
        losses.push(loss);
        const accuracy = classifierAccuracy(model, evaluation, text.padId);
        const point = { cell: data.name, stage: 'prepare' as const, epoch: epoch + 1, step: 0 };
        epochMetrics.push(
          ctx.metrics.record([
            { ...point, name: 'reward_model/finetune_loss', value: loss },
            { ...point, name: 'reward_model/eval_accuracy', value: accuracy },
          ]),
        );
        if (accuracy > best.accuracy) best = { accuracy, epoch, parameters: model.getParameters() };
        // The authors' early stopping: `patience` epochs without a better held-out accuracy.
        return epoch - best.epoch < settings.patience;
      },
    });
    await Promise.all(epochMetrics);
  } finally {
    model.dispose();
  }
  ctx.progress.finish(task);
  ctx.progress.log(
    `reward model (BERT) on ${data.name}: best ${(best.accuracy * 100).toFixed(1)}% at epoch ${best.epoch + 1} of ${losses.length} on ${data.name}'s evaluation split (${evaluation.length} sentences)`,
  );
  ctx.counters.modelsTrained += 1;
  const classifier = createBertClassifier(config, best.parameters, { frozen: true });
  await withScratch(ctx, async (out) => {
    await saveBertClassifier(out, classifier);
    await copyTokenizer(dir, out);
    const state = {
      classes,
      eval_accuracy: best.accuracy,
      best_epoch: best.epoch + 1,
      epoch_losses: losses,
    };
    await writeFile(join(out, TRAINER_STATE), `${JSON.stringify(state, null, 2)}\n`);
    await putDirectory(ctx.store, key, out);
  });
  return { classifier, classes, text, accuracy: best.accuracy };
}

/** A checkpoint used as it is (`finetune: false`): its trained head must fit the dataset. */
async function asIs(dir: string, data: LoadedDataset, maxLength: number) {
  const read = await readBertCheckpoint(dir);
  if (read.initialised.includes('classifier.weight'))
    throw new RewardModelError(
      `${FIELD} ${dir}: has no classifier head to score with; drop 'rewardModel.finetune: false' to fine-tune one`,
    );
  const classes = headClasses(read.config, data.classes, dir);
  const tokenizer = await loadHfTokenizer(dir);
  return {
    classifier: createBertClassifier(read.config, read.parameters, { frozen: true }),
    classes,
    text: textInput(tokenizer, read.config, maxLength),
    accuracy: null,
  };
}

/** R for `dataset` from the BERT checkpoint `ref`: stored, else fine-tuned and stored. */
export async function prepareBertReward(
  ctx: StageContext,
  spec: SweepSpec,
  dataset: ResolvedDataset,
  data: LoadedDataset,
  ref: string,
): Promise<BertReward> {
  const dir = await resolveCheckpoint(ref, { baseDir: ctx.baseDir });
  const identity = await checkpointIdentity(dir);
  const key = bertRewardKey(spec, dataset, data.classes, { reference: ref, identity });
  const settings = spec.rewardModel.finetune;
  if (settings === false) return { ...(await asIs(dir, data, 512)), key };
  if (settings === undefined) throw new Error(`${FIELD}: the spec was not resolved (no finetune)`);
  if (await directoryComplete(ctx.store, key))
    return { ...(await loadStored(ctx, key, settings)), key };
  return { ...(await fineTune(ctx, data, dir, key, settings)), key };
}
