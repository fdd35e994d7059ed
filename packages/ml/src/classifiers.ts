/** Factories for the reward classifier on the active backend. */
import { type ClassifierConfig, createRng } from '@rdlab/core';
import { activeBackend } from './backend.js';
import { initClassifierParameters } from './classifier/params.js';
import { TfjsCnnClassifier } from './classifier/tfjs-cnn.js';
import type { TextClassifier } from './engine.js';
import type { TensorMap } from './safetensors.js';

/** Engines other than tfjs register a constructor here (the native engine does). */
export const classifierEngines: Partial<
  Record<
    string,
    (
      config: ClassifierConfig,
      vocabSize: number,
      numClasses: number,
      parameters: TensorMap,
    ) => TextClassifier
  >
> = {};

export function createClassifier(
  config: ClassifierConfig,
  vocabSize: number,
  numClasses: number,
  parameters: TensorMap,
): TextClassifier {
  const backend = activeBackend()?.name;
  const engine = backend ? classifierEngines[backend] : undefined;
  return engine
    ? engine(config, vocabSize, numClasses, parameters)
    : new TfjsCnnClassifier(config, vocabSize, numClasses, parameters);
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
