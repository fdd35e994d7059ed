/**
 * Factories: a language model on the active backend, from parameters, a preset or a checkpoint.
 */
import { createRng, type DecoderConfig, LM_PRESETS, type LmPreset } from '@rdlab/core';
import { activeEngine } from './backend.js';
import type { LanguageModel, LoadOptions } from './engine.js';
import { readGpt2Checkpoint } from './gpt2/checkpoint-files.js';
import { initGpt2Parameters } from './gpt2/params.js';
import type { TensorMap } from './safetensors.js';

/**
 * A GPT-2, OPT or XGLM on the engine of the active backend. `frozen`: for sampling and scoring
 * only (β once trained); it never allocates gradient or Adam buffers and refuses to train.
 */
export function createLanguageModel(
  config: DecoderConfig,
  parameters: TensorMap,
  options: LoadOptions = {},
): LanguageModel {
  return activeEngine().languageModel(config, parameters, options);
}

/** A freshly initialised GPT-2 (GPT-2's initialisation, seeded). */
export function randomLanguageModel(config: DecoderConfig, seed: number): LanguageModel {
  return createLanguageModel(config, initGpt2Parameters(config, createRng(seed, 'gpt2-init')));
}

export function presetConfig(preset: LmPreset, vocabSize?: number): DecoderConfig {
  const base = LM_PRESETS[preset];
  return { ...base, vocab_size: vocabSize ?? base.vocab_size };
}

export async function loadLanguageModel(
  dir: string,
  options: LoadOptions = {},
): Promise<LanguageModel> {
  const { config, parameters } = await readGpt2Checkpoint(dir);
  return createLanguageModel(config, parameters, options);
}
