/**
 * Stage `prepare`: a dataset's tokenizer, behaviour LM β and reward model R, each loaded from the
 * store when its content address exists, else from the checkpoint the spec names, else trained
 * on the dataset's training split and stored. A BERT R is fine-tuned from its checkpoint
 * (bert-reward.ts).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASSIFIER_PRESETS, createRng, type ResolvedDataset, type SweepSpec } from '@rdlab/core';
import { type LoadedDataset, loadDataset, type TextRecord } from '@rdlab/data';
import {
  BpeTokenizer,
  classifierAccuracy,
  createLanguageModel,
  type LabelledSequence,
  type LanguageModel,
  loadClassifierCheckpoint,
  loadLanguageModelCheckpoint,
  presetConfig,
  pretrainLanguageModel,
  type RewardClassifier,
  randomClassifier,
  randomLanguageModel,
  saveClassifier,
  saveLanguageModel,
  type TextClassifier,
  type TextTokenizer,
  trainBpe,
  trainClassifier,
} from '@rdlab/ml';
import { behaviorKey, rewardKey, tokenizerKey } from '@rdlab/plan';
import { directoryComplete, getDirectory, putDirectory } from '@rdlab/store';
import { prepareBertReward } from './bert-reward.js';
import { checkpointPath, withScratch } from './local-files.js';
import type { StageContext } from './ports.js';
import type { RewardTextInput } from './reward-scorer.js';
import { loadCheckpointTokenizer } from './tokenizers.js';

export interface PreparedDataset {
  dataset: ResolvedDataset;
  data: LoadedDataset;
  /** The reward model's classes, in its output order. */
  classes: string[];
  /** β's tokenizer: its checkpoint's own, else the in-house BPE (see tokenizers.ts). */
  tokenizer: TextTokenizer;
  behavior: LanguageModel;
  reward: RewardClassifier;
  /** How a BERT R reads text; null for the CNN, which reads β's ids (see reward-scorer.ts). */
  rewardText: RewardTextInput | null;
  keys: { tokenizer: string; behavior: string; reward: string };
  /** Reward-model accuracy on the evaluation split (null when loaded from a foreign checkpoint). */
  rewardAccuracy: number | null;
}

/** Training sentences per class, each at most `limit` (0: all), chosen with a seeded shuffle. */
function sentencesPerClass(
  data: LoadedDataset,
  limit: number,
  seed: string,
): Map<string, TextRecord[]> {
  const out = new Map<string, TextRecord[]>();
  for (const [cls, records] of data.train) {
    if (limit === 0 || records.length <= limit) out.set(cls, records);
    else
      out.set(
        cls,
        createRng(seed, cls)
          .choose(records.length, limit)
          .map((i) => records[i] as TextRecord),
      );
  }
  return out;
}

async function prepareTokenizer(
  ctx: StageContext,
  spec: SweepSpec,
  data: LoadedDataset,
  key: string,
  vocabSize: number,
): Promise<TextTokenizer> {
  const named = spec.behavior.tokenizer.checkpoint ?? spec.behavior.model.checkpoint;
  if (named) {
    const dir = checkpointPath(ctx, named);
    const tokenizer = await loadCheckpointTokenizer(dir);
    if (!tokenizer)
      throw new Error(
        `tokenizer: ${dir} has neither tokenizer.json nor vocab.json + merges.txt (${named})`,
      );
    return tokenizer;
  }
  if (await directoryComplete(ctx.store, key)) {
    return withScratch(ctx, async (dir) => {
      await getDirectory(ctx.store, key, dir);
      return BpeTokenizer.load(dir);
    });
  }
  ctx.progress.log(`training a ${vocabSize}-token BPE vocabulary on ${data.name}`);
  const texts = [...data.train.values()].flat().map((r) => r.text);
  const tokenizer = trainBpe(texts, vocabSize);
  ctx.counters.modelsTrained += 1;
  await withScratch(ctx, async (dir) => {
    await tokenizer.save(dir);
    await putDirectory(ctx.store, key, dir);
  });
  return tokenizer;
}

async function prepareBehavior(
  ctx: StageContext,
  spec: SweepSpec,
  data: LoadedDataset,
  tokenizer: TextTokenizer,
  key: string,
): Promise<LanguageModel> {
  // Once trained, β only samples (bootstrap) and scores (evaluation); `init: behavior` copies its
  // parameters into a separate, trainable π (train.ts). So β is held frozen: no gradient or Adam
  // buffers (3× its parameters) for the rest of the run, and any attempt to train it throws.
  const { model, training } = spec.behavior;
  const frozen = { frozen: true };
  if (model.checkpoint)
    return (await loadLanguageModelCheckpoint(checkpointPath(ctx, model.checkpoint), frozen)).model;
  if (await directoryComplete(ctx.store, key)) {
    return withScratch(ctx, async (dir) => {
      await getDirectory(ctx.store, key, dir);
      return (await loadLanguageModelCheckpoint(dir, frozen)).model;
    });
  }
  const config = presetConfig(model.preset ?? 'small', tokenizer.vocabSize);
  const maxLength = spec.training.maxLength;
  const sentences = [
    ...sentencesPerClass(data, training.sentencesPerAttribute, `${key}/sentences`).values(),
  ]
    .flat()
    .map((r) => tokenizer.encode(r.text))
    .filter((ids) => ids.length + 1 <= maxLength && ids.length > 0);
  const behavior = randomLanguageModel(config, 1);
  const task = `prepare/${data.name}/behavior`;
  const steps = Math.ceil(sentences.length / training.batchSize);
  ctx.progress.start({
    id: task,
    label: `β ${model.preset} on ${data.name} (${sentences.length} sentences)`,
    total: steps * training.epochs,
    unit: 'steps',
  });
  const loss = pretrainLanguageModel(behavior, sentences, tokenizer.eosId, maxLength, {
    epochs: training.epochs,
    batchSize: training.batchSize,
    adam: { learningRate: training.learningRate },
    seed: 1,
    onStep: (p) => ctx.progress.advance(task, 1, `epoch ${p.epoch + 1}, loss ${p.loss.toFixed(3)}`),
  });
  ctx.progress.finish(task);
  ctx.counters.modelsTrained += 1;
  await ctx.metrics.record([
    {
      cell: data.name,
      stage: 'prepare',
      epoch: training.epochs,
      step: 0,
      name: 'behavior/train_loss',
      value: loss,
    },
  ]);
  await withScratch(ctx, async (dir) => {
    await saveLanguageModel(dir, behavior, { tokenizer, withOptimizer: false });
    await putDirectory(ctx.store, key, dir);
  });
  // The same weights, frozen; the pretrained model's gradients and Adam moments are released.
  const trained = createLanguageModel(behavior.config, behavior.getParameters(), frozen);
  behavior.dispose();
  return trained;
}

function labelled(
  records: Map<string, TextRecord[]>,
  classes: string[],
  tokenizer: TextTokenizer,
): LabelledSequence[] {
  const out: LabelledSequence[] = [];
  classes.forEach((cls, label) => {
    for (const r of records.get(cls) ?? []) out.push({ ids: tokenizer.encode(r.text), label });
  });
  return out;
}

async function prepareReward(
  ctx: StageContext,
  spec: SweepSpec,
  data: LoadedDataset,
  tokenizer: TextTokenizer,
  key: string,
): Promise<{ reward: TextClassifier; classes: string[]; accuracy: number | null }> {
  const { model, training } = spec.rewardModel;
  if (model.checkpoint) {
    const loaded = await loadClassifierCheckpoint(checkpointPath(ctx, model.checkpoint));
    const missing = data.classes.filter((c) => !loaded.classes.includes(c));
    if (missing.length > 0)
      throw new Error(
        `reward model ${model.checkpoint} has classes ${loaded.classes.join(', ')}; the dataset needs ${missing.join(', ')}`,
      );
    return { reward: loaded.classifier, classes: loaded.classes, accuracy: null };
  }
  if (await directoryComplete(ctx.store, key)) {
    return withScratch(ctx, async (dir) => {
      await getDirectory(ctx.store, key, dir);
      const loaded = await loadClassifierCheckpoint(dir);
      const state = JSON.parse(
        new TextDecoder().decode(await ctx.store.get(`${key}/trainer_state.json`)),
      ) as { eval_accuracy?: number };
      return {
        reward: loaded.classifier,
        classes: loaded.classes,
        accuracy: state.eval_accuracy ?? null,
      };
    });
  }
  const classes = data.classes;
  const train = labelled(
    sentencesPerClass(data, training.sentencesPerAttribute, `${key}/sentences`),
    classes,
    tokenizer,
  );
  const evaluation = labelled(data.eval, classes, tokenizer);
  const reward = randomClassifier(
    CLASSIFIER_PRESETS[model.preset ?? 'cnn'],
    tokenizer.vocabSize,
    classes.length,
    2,
  );
  const task = `prepare/${data.name}/reward`;
  ctx.progress.start({
    id: task,
    label: `R ${model.preset} on ${data.name} (${train.length} sentences)`,
    total: Math.ceil(train.length / training.batchSize) * training.epochs,
    unit: 'steps',
  });
  trainClassifier(reward, train, tokenizer.eosId, {
    epochs: training.epochs,
    batchSize: training.batchSize,
    adam: { learningRate: training.learningRate },
    seed: 3,
    onStep: (p) => ctx.progress.advance(task, 1, `epoch ${p.epoch + 1}, loss ${p.loss.toFixed(3)}`),
  });
  ctx.progress.finish(task);
  const accuracy = classifierAccuracy(reward, evaluation, tokenizer.eosId);
  ctx.progress.log(
    `reward model on ${data.name}: ${(accuracy * 100).toFixed(1)}% on ${data.name}'s evaluation split (${evaluation.length} sentences)`,
  );
  ctx.counters.modelsTrained += 1;
  await ctx.metrics.record([
    {
      cell: data.name,
      stage: 'prepare',
      epoch: training.epochs,
      step: 0,
      name: 'reward_model/eval_accuracy',
      value: accuracy,
    },
  ]);
  await withScratch(ctx, async (dir) => {
    await saveClassifier(dir, reward, classes, {
      tokenizer,
      trainerState: { eval_accuracy: accuracy },
    });
    await putDirectory(ctx.store, key, dir);
  });
  return { reward, classes, accuracy };
}

export async function prepare(
  ctx: StageContext,
  spec: SweepSpec,
  dataset: ResolvedDataset,
): Promise<PreparedDataset> {
  const data = await loadDataset(dataset, {
    baseDir: ctx.baseDir,
    ...(ctx.cacheDir ? { cacheDir: ctx.cacheDir } : {}),
  });
  const vocabSize = presetConfig(spec.behavior.model.preset ?? 'small').vocab_size;
  const keys = { tokenizer: tokenizerKey(spec, dataset, vocabSize), behavior: '', reward: '' };
  const tokenizer = await prepareTokenizer(ctx, spec, data, keys.tokenizer, vocabSize);
  keys.behavior = behaviorKey(spec, dataset, keys.tokenizer);
  keys.reward = rewardKey(spec, dataset, keys.tokenizer, data.classes);
  const behavior = await prepareBehavior(ctx, spec, data, tokenizer, keys.behavior);
  const rewardRef = spec.rewardModel.model.checkpoint;
  if (rewardRef !== undefined && !(await isCnnCheckpoint(ctx, rewardRef))) {
    const bert = await prepareBertReward(ctx, spec, dataset, data, rewardRef);
    keys.reward = bert.key;
    return {
      dataset,
      data,
      classes: bert.classes,
      tokenizer,
      behavior,
      reward: bert.classifier,
      rewardText: bert.text,
      keys,
      rewardAccuracy: bert.accuracy,
    };
  }
  const { reward, classes, accuracy } = await prepareReward(
    ctx,
    spec,
    data,
    tokenizer,
    keys.reward,
  );
  return {
    dataset,
    data,
    classes,
    tokenizer,
    behavior,
    reward,
    rewardText: null,
    keys,
    rewardAccuracy: accuracy,
  };
}

/** An rdlab CNN checkpoint (a local folder with classifier.json); any other is a BERT folder. */
async function isCnnCheckpoint(ctx: StageContext, ref: string): Promise<boolean> {
  if (/^(https?|s3):\/\//.test(ref)) return false;
  return (await stat(join(checkpointPath(ctx, ref), 'classifier.json')).catch(() => null)) !== null;
}

export function disposePrepared(prepared: PreparedDataset): void {
  prepared.behavior.dispose();
  prepared.reward.dispose();
}
