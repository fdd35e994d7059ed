/** Factories for the reward classifiers (the CNN, BERT) on the active backend. */
import { type ClassifierConfig, createRng } from '@rdlab/core';
import { activeEngine } from './backend.js';
import {
  type BertCheckpoint,
  type ReadBertOptions,
  readBertCheckpoint,
  writeBertCheckpoint,
} from './bert/checkpoint.js';
import { type BertConfig, initBertParameters } from './bert/config.js';
import { initClassifierParameters } from './classifier/params.js';
import type { BertClassifier, TextClassifier } from './engine.js';
import type { TensorMap } from './safetensors.js';
import { tfjsEngine } from './tfjs-engine.js';

/** A reward classifier on the engine of the active backend. */
export function createClassifier(
  config: ClassifierConfig,
  vocabSize: number,
  numClasses: number,
  parameters: TensorMap,
): TextClassifier {
  return activeEngine().classifier(config, vocabSize, numClasses, parameters);
}

export function randomClassifier(
  config: ClassifierConfig,
  vocabSize: number,
  numClasses: number,
  seed: number,
): TextClassifier {
  return createClassifier(
    config,
    vocabSize,
    numClasses,
    initClassifierParameters(config, vocabSize, numClasses, createRng(seed, 'classifier-init')),
  );
}

/**
 * A BERT sequence classifier on the active engine (the native one's, else tfjs's). `frozen`
 * loads it for scoring only: no gradients or Adam state are kept.
 */
export function createBertClassifier(
  config: BertConfig,
  parameters: TensorMap,
  options: { frozen?: boolean } = {},
): BertClassifier {
  const engine = activeEngine();
  return (engine.sequenceClassifier ?? tfjsEngine.sequenceClassifier)?.(
    config,
    parameters,
    options,
  ) as BertClassifier;
}

/** A BertForSequenceClassification initialised as transformers initialises one. */
export function randomBertClassifier(config: BertConfig, seed: number): BertClassifier {
  return createBertClassifier(config, initBertParameters(config, createRng(seed, 'bert-init')));
}

/**
 * Loads a Hugging Face BertForSequenceClassification (or a pretraining BERT such as
 * bert-base-uncased, whose missing head is initialised) from a folder, `s3://` or `https://`.
 */
export async function loadBertClassifier(
  ref: string,
  options: ReadBertOptions & { frozen?: boolean } = {},
): Promise<{ classifier: BertClassifier; checkpoint: Omit<BertCheckpoint, 'parameters'> }> {
  const { parameters, ...checkpoint } = await readBertCheckpoint(ref, options);
  const classifier = createBertClassifier(checkpoint.config, parameters, {
    frozen: options.frozen ?? false,
  });
  return { classifier, checkpoint };
}

/** Saves a (fine-tuned) BERT classifier in the Hugging Face layout it was loaded from. */
export function saveBertClassifier(dir: string, classifier: BertClassifier): Promise<void> {
  return writeBertCheckpoint(dir, classifier.config, classifier.getParameters());
}
