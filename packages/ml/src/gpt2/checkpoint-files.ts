/**
 * A decoder checkpoint on disk, in Hugging Face's layout: `config.json` + `model.safetensors`,
 * for GPT-2, OPT and XGLM (`model_type`).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DecoderConfig, decoderSpec, type Gpt2Config } from '@rdlab/core';
import { readSafetensors, type TensorMap, writeSafetensors } from '../safetensors.js';
import { decoderConfigFromJson } from './config-json.js';
import { gpt2CheckpointTensors, gpt2ParametersFromCheckpoint } from './params.js';

export { decoderConfigFromJson, gpt2ConfigFromJson } from './config-json.js';

/** The config.json Hugging Face reads back for this family. */
export function decoderConfigJson(config: DecoderConfig): Record<string, unknown> {
  const s = decoderSpec(config);
  if (s.family === 'opt')
    return {
      model_type: 'opt',
      architectures: ['OPTForCausalLM'],
      vocab_size: s.vocab_size,
      hidden_size: s.n_embd,
      word_embed_proj_dim: s.n_embd,
      num_hidden_layers: s.n_layer,
      num_attention_heads: s.n_head,
      ffn_dim: s.ffn_dim,
      max_position_embeddings: s.n_positions,
      do_layer_norm_before: true,
      activation_function: s.activation,
      enable_bias: true,
      layer_norm_elementwise_affine: true,
      pad_token_id: 1,
      bos_token_id: 2,
      eos_token_id: 2,
      tie_word_embeddings: true,
    };
  if (s.family === 'xglm')
    return {
      model_type: 'xglm',
      architectures: ['XGLMForCausalLM'],
      vocab_size: s.vocab_size,
      d_model: s.n_embd,
      num_layers: s.n_layer,
      attention_heads: s.n_head,
      ffn_dim: s.ffn_dim,
      max_position_embeddings: s.n_positions,
      activation_function: s.activation,
      scale_embedding: s.embed_scale !== 1,
      pad_token_id: 1,
      bos_token_id: 0,
      eos_token_id: 2,
      tie_word_embeddings: true,
    };
  return gpt2ConfigJson(config);
}

export function gpt2ConfigJson(config: Gpt2Config): Record<string, unknown> {
  const { vocab_size, n_positions, n_embd, n_layer, n_head, layer_norm_epsilon } = config;
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size,
    n_positions,
    n_embd,
    n_layer,
    n_head,
    layer_norm_epsilon,
    n_ctx: config.n_positions,
    activation_function: 'gelu_new',
    tie_word_embeddings: true,
  };
}

export async function readGpt2Checkpoint(
  dir: string,
): Promise<{ config: DecoderConfig; parameters: TensorMap }> {
  let configText: string;
  try {
    configText = await readFile(join(dir, 'config.json'), 'utf8');
  } catch {
    throw new Error(`checkpoint ${dir}: config.json is missing`);
  }
  const config = decoderConfigFromJson(JSON.parse(configText), join(dir, 'config.json'));
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors')).catch(
    (error: Error) => {
      throw new Error(`checkpoint ${dir}: cannot read model.safetensors (${error.message})`);
    },
  );
  return { config, parameters: gpt2ParametersFromCheckpoint(tensors, config) };
}

export async function writeGpt2Checkpoint(
  dir: string,
  config: DecoderConfig,
  parameters: TensorMap,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'config.json'),
    `${JSON.stringify(decoderConfigJson(config), null, 2)}\n`,
  );
  await writeSafetensors(
    join(dir, 'model.safetensors'),
    gpt2CheckpointTensors(parameters, config),
    {
      format: 'pt',
    },
  );
}
