/**
 * Factories: a language model on the active backend, from parameters, a preset or a checkpoint.
 */
import {
  createRng,
  type DecoderConfig,
  type Gpt2Config,
  LM_PRESETS,
  type LmPreset,
} from '@rdlab/core';
import { activeBackend } from './backend.js';
import type { LanguageModel } from './engine.js';
import { readGpt2Checkpoint } from './gpt2/checkpoint-files.js';
import { initGpt2Parameters } from './gpt2/params.js';
import { TfjsGpt2 } from './gpt2/tfjs-gpt2.js';
import type { TensorMap } from './safetensors.js';

/** Engines other than tfjs register a constructor here (the native engine does). */
export const languageModelEngines: Partial<
  Record<string, (config: DecoderConfig, parameters: TensorMap) => LanguageModel>
> = {};

/** A GPT-2, OPT or XGLM on the active backend (tfjs unless an engine of that name is registered). */
export function createLanguageModel(config: DecoderConfig, parameters: TensorMap): LanguageModel {
  const backend = activeBackend()?.name;
  const engine = backend ? languageModelEngines[backend] : undefined;
  return engine ? engine(config, parameters) : new TfjsGpt2(config, parameters);
}

/** A freshly initialised GPT-2 (GPT-2's initialisation, seeded). */
export function randomLanguageModel(config: DecoderConfig, seed: number): LanguageModel {
  return createLanguageModel(config, initGpt2Parameters(config, createRng(seed, 'gpt2-init')));
}

export function presetConfig(preset: LmPreset, vocabSize?: number): Gpt2Config {
  const base = LM_PRESETS[preset];
  return { ...base, vocab_size: vocabSize ?? base.vocab_size };
}

export async function loadLanguageModel(dir: string): Promise<LanguageModel> {
  const { config, parameters } = await readGpt2Checkpoint(dir);
  return createLanguageModel(config, parameters);
}
