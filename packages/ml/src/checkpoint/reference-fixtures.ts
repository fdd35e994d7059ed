/**
 * Small checkpoints for tests of reference checking (`@rdlab/ml/reference-fixtures`): a tiny OPT
 * in Hugging Face's layout, good or broken in one way each. Writes zeros: only headers matter.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DecoderConfig } from '@rdlab/core';
import { decoderConfigJson } from '../gpt2/checkpoint-files.js';
import { gpt2ParameterShapes } from '../gpt2/params.js';
import { type TensorMap, writeSafetensors } from '../safetensors.js';

export const BAD_REFERENCES = [
  'bad-model-type',
  'missing-weights',
  'wrong-shape',
  'tokenizer-too-big',
] as const;
export type ReferenceFixture = 'good' | (typeof BAD_REFERENCES)[number];

/** The tiny OPT every fixture describes (V 64, C 8, one layer). */
export const FIXTURE_CONFIG: DecoderConfig = {
  family: 'opt',
  vocab_size: 64,
  n_positions: 32,
  n_embd: 8,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
  ffn_dim: 16,
  activation: 'relu',
  position_kind: 'learned',
  position_offset: 2,
  embed_scale: 1,
};

/** Writes fixture `kind` into `dir` (created). */
export async function writeReferenceFixture(dir: string, kind: ReferenceFixture): Promise<string> {
  await mkdir(dir, { recursive: true });
  const config = decoderConfigJson(FIXTURE_CONFIG);
  if (kind === 'bad-model-type') config.model_type = 'llama';
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const tensors: TensorMap = new Map();
  for (const [name, shape] of gpt2ParameterShapes(FIXTURE_CONFIG)) {
    const s = kind === 'wrong-shape' && name.endsWith('fc1.weight') ? [8, 8] : shape;
    tensors.set(name, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  if (kind === 'missing-weights') await rm(join(dir, 'model.safetensors'));
  if (kind === 'tokenizer-too-big') {
    const vocab = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`t${i}`, i]));
    await writeFile(
      join(dir, 'tokenizer.json'),
      JSON.stringify({ model: { type: 'BPE', vocab, merges: [] }, added_tokens: [] }),
    );
  }
  return dir;
}
