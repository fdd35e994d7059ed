/**
 * A GPT-2 checkpoint on disk, in Hugging Face's layout: `config.json` + `model.safetensors`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gpt2Config } from '@rdlab/core';
import { readSafetensors, type TensorMap, writeSafetensors } from '../safetensors.js';
import { gpt2CheckpointTensors, gpt2ParametersFromCheckpoint } from './params.js';

/** Reads the GPT-2 fields of a Hugging Face config.json. */
export function gpt2ConfigFromJson(
  json: Record<string, unknown>,
  where = 'config.json',
): Gpt2Config {
  const number = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new Error(`${where}: '${key}' must be a number, got ${JSON.stringify(json[key])}`);
    return v;
  };
  const activation = json.activation_function ?? 'gelu_new';
  if (activation !== 'gelu_new')
    throw new Error(
      `${where}: activation_function '${String(activation)}' is not supported; GPT-2 uses 'gelu_new'`,
    );
  if (json.tie_word_embeddings === false)
    throw new Error(`${where}: untied lm_head weights are not supported`);
  return {
    vocab_size: number('vocab_size'),
    n_positions: number('n_positions', number('n_ctx', 1024)),
    n_embd: number('n_embd'),
    n_layer: number('n_layer'),
    n_head: number('n_head'),
    layer_norm_epsilon: number('layer_norm_epsilon', 1e-5),
  };
}

export function gpt2ConfigJson(config: Gpt2Config): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    ...config,
    n_ctx: config.n_positions,
    activation_function: 'gelu_new',
    tie_word_embeddings: true,
  };
}

export async function readGpt2Checkpoint(
  dir: string,
): Promise<{ config: Gpt2Config; parameters: TensorMap }> {
  let configText: string;
  try {
    configText = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw new Error(`GPT-2 checkpoint ${dir}: config.json is missing`);
  }
  const config = gpt2ConfigFromJson(JSON.parse(configText), join(dir, 'config.json'));
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors')).catch(
    (error: Error) => {
      throw new Error(`GPT-2 checkpoint ${dir}: cannot read model.safetensors (${error.message})`);
    },
  );
  return { config, parameters: gpt2ParametersFromCheckpoint(tensors, config) };
}

export async function writeGpt2Checkpoint(
  dir: string,
  config: Gpt2Config,
  parameters: TensorMap,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(gpt2ConfigJson(config), null, 2)}\n`);
  await writeSafetensors(join(dir, 'model.safetensors'), gpt2CheckpointTensors(parameters), {
    format: 'pt',
  });
}
