/** Factories for the reward classifier on the active backend. */
import { type ClassifierConfig, createRng } from '@rdlab/core';
import { activeEngine } from './backend.js';
import { initClassifierParameters } from './classifier/params.js';
import type { TextClassifier } from './engine.js';
import type { TensorMap } from './safetensors.js';

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
