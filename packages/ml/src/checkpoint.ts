/**
 * Checkpoints: model + tokenizer + optimizer state in one directory, safetensors + JSON, so
 * training resumes exactly and any tool that reads Hugging Face GPT-2 reads the model.
 *
 *   config.json, model.safetensors       the model (Hugging Face layout for GPT-2)
 *   vocab.json, merges.txt               the tokenizer (GPT-2 layout)
 *   optimizer.safetensors                Adam moments, `m.<name>` and `v.<name>`
 *   trainer_state.json                   { step, ...what the trainer adds }
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClassifierConfig } from '@rdlab/core';
import { classifierParameterShapes } from './classifier/params.js';
import { createClassifier } from './classifiers.js';
import type { LanguageModel, LoadOptions, OptimizerState, TextClassifier } from './engine.js';
import { readGpt2Checkpoint, writeGpt2Checkpoint } from './gpt2/checkpoint-files.js';
import { createLanguageModel } from './models.js';
import { readSafetensors, type TensorMap, writeSafetensors } from './safetensors.js';
import { BpeTokenizer } from './tokenizer/bpe.js';
import type { TextTokenizer } from './tokenizer/text-tokenizer.js';

export interface TrainerState {
  step: number;
  [key: string]: unknown;
}

async function writeOptimizer(
  dir: string,
  state: OptimizerState,
  trainerState: Record<string, unknown>,
): Promise<void> {
  if (state.m.size > 0) {
    const tensors: TensorMap = new Map();
    for (const [name, t] of state.m) tensors.set(`m.${name}`, t);
    for (const [name, t] of state.v) tensors.set(`v.${name}`, t);
    await writeSafetensors(join(dir, 'optimizer.safetensors'), tensors, { format: 'rdlab-adam' });
  }
  await writeFile(
    join(dir, 'trainer_state.json'),
    `${JSON.stringify({ ...trainerState, step: state.step }, null, 2)}\n`,
  );
}

async function readOptimizer(
  dir: string,
): Promise<{ optimizer: OptimizerState | null; trainerState: TrainerState | null }> {
  const stateText = await readFile(join(dir, 'trainer_state.json'), 'utf8').catch(() => null);
  if (stateText === null) return { optimizer: null, trainerState: null };
  const trainerState = JSON.parse(stateText) as TrainerState;
  const tensors = await readSafetensors(join(dir, 'optimizer.safetensors'))
    .then((r) => r.tensors)
    .catch(() => null);
  const optimizer: OptimizerState = { step: trainerState.step, m: new Map(), v: new Map() };
  for (const [key, t] of tensors ?? []) {
    if (key.startsWith('m.')) optimizer.m.set(key.slice(2), t);
    else if (key.startsWith('v.')) optimizer.v.set(key.slice(2), t);
  }
  return { optimizer, trainerState };
}

export async function saveLanguageModel(
  dir: string,
  model: LanguageModel,
  options: {
    tokenizer?: TextTokenizer;
    trainerState?: Record<string, unknown>;
    withOptimizer?: boolean;
  } = {},
): Promise<void> {
  await writeGpt2Checkpoint(dir, model.config, model.getParameters());
  // The in-house BPE's files; a Hugging Face tokenizer stays with the checkpoint it came from.
  if (options.tokenizer instanceof BpeTokenizer) await options.tokenizer.save(dir);
  if (options.withOptimizer !== false)
    await writeOptimizer(dir, model.getOptimizerState(), options.trainerState ?? {});
}

/**
 * A GPT-2 directory: model, and the tokenizer and optimizer state when present. `frozen` loads
 * the model for sampling and scoring only and leaves the optimizer state on disk.
 */
export async function loadLanguageModelCheckpoint(
  dir: string,
  options: LoadOptions = {},
): Promise<{
  model: LanguageModel;
  tokenizer: BpeTokenizer | null;
  trainerState: TrainerState | null;
}> {
  const { config, parameters } = await readGpt2Checkpoint(dir);
  const model = createLanguageModel(config, parameters, options);
  const tokenizer = await BpeTokenizer.load(dir).catch(() => null);
  const { optimizer, trainerState } = await readOptimizer(dir);
  if (optimizer && optimizer.m.size > 0 && !options.frozen) model.setOptimizerState(optimizer);
  return { model, tokenizer, trainerState };
}

interface ClassifierJson {
  architecture: 'cnn';
  config: ClassifierConfig;
  vocabSize: number;
  classes: string[];
}

export async function saveClassifier(
  dir: string,
  classifier: TextClassifier,
  classes: string[],
  options: { tokenizer?: TextTokenizer; trainerState?: Record<string, unknown> } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json: ClassifierJson = {
    architecture: 'cnn',
    config: classifier.config,
    vocabSize: classifier.vocabSize,
    classes,
  };
  await writeFile(join(dir, 'classifier.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeSafetensors(join(dir, 'model.safetensors'), classifier.getParameters(), {
    format: 'rdlab-cnn',
  });
  // The in-house BPE's files; a Hugging Face tokenizer stays with the checkpoint it came from.
  if (options.tokenizer instanceof BpeTokenizer) await options.tokenizer.save(dir);
  await writeOptimizer(dir, classifier.getOptimizerState(), options.trainerState ?? {});
}

export async function loadClassifierCheckpoint(
  dir: string,
): Promise<{ classifier: TextClassifier; classes: string[]; tokenizer: BpeTokenizer | null }> {
  const json = JSON.parse(
    await readFile(join(dir, 'classifier.json'), 'utf8').catch(() => {
      throw new Error(`reward model checkpoint ${dir}: classifier.json is missing`);
    }),
  ) as ClassifierJson;
  if (json.architecture !== 'cnn')
    throw new Error(
      `reward model checkpoint ${dir}: architecture '${json.architecture}' is not supported (cnn)`,
    );
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  for (const [name, shape] of classifierParameterShapes(
    json.config,
    json.vocabSize,
    json.classes.length,
  )) {
    const t = tensors.get(name);
    if (!t || t.shape.join(',') !== shape.join(','))
      throw new Error(`reward model checkpoint ${dir}: ${name} is missing or not [${shape}]`);
  }
  const classifier = createClassifier(json.config, json.vocabSize, json.classes.length, tensors);
  const { optimizer } = await readOptimizer(dir);
  if (optimizer && optimizer.m.size > 0) classifier.setOptimizerState(optimizer);
  return {
    classifier,
    classes: json.classes,
    tokenizer: await BpeTokenizer.load(dir).catch(() => null),
  };
}
