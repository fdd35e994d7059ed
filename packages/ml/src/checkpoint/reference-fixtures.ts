/**
 * Small checkpoints for tests of reference checking (`@rdlab/ml/reference-fixtures`): a tiny OPT
 * in Hugging Face's layout, and a tiny BERT reward model, good or broken in one way each. Writes
 * zeros: only headers matter.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DecoderConfig } from '@rdlab/core';
import { type BertConfig, bertConfigJson, bertParameterShapes } from '../bert/config.js';
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

export const BAD_BERT_REFERENCES = [
  'bert-wrong-shape',
  'bert-missing-tensor',
  'bert-tokenizer-too-big',
  'bert-head-labels',
] as const;
export type BertReferenceFixture =
  | 'bert-good'
  | 'bert-good-head'
  | (typeof BAD_BERT_REFERENCES)[number];

/** The tiny BERT reward-model fixtures describe (V 16, C 8, one layer, two labels when headed). */
export const BERT_FIXTURE_CONFIG: BertConfig = {
  model_type: 'bert',
  vocab_size: 16,
  hidden_size: 8,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 16,
  hidden_act: 'gelu',
  max_position_embeddings: 16,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  pad_token_id: 0,
  num_labels: 2,
  labels: ['negative', 'positive'],
  classifier_dropout: 0.1,
  initializer_range: 0.02,
};

/**
 * Writes BERT fixture `kind` into `dir` (created): `bert-good` is pretrained-only (no head),
 * `bert-good-head` has a 2-label head; the bad ones break one thing each (a layer tensor's shape,
 * a missing encoder tensor, a vocab.txt larger than vocab_size, a 3-label head).
 */
export async function writeBertReferenceFixture(
  dir: string,
  kind: BertReferenceFixture,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const labels = kind === 'bert-head-labels' ? ['a', 'b', 'c'] : ['negative', 'positive'];
  const config = { ...BERT_FIXTURE_CONFIG, num_labels: labels.length, labels };
  const headed = kind === 'bert-good-head' || kind === 'bert-head-labels';
  const json = bertConfigJson(config);
  if (!headed) {
    delete json.id2label;
    delete json.label2id;
  }
  await writeFile(join(dir, 'config.json'), JSON.stringify(json));
  const tensors: TensorMap = new Map();
  for (const [name, shape] of bertParameterShapes(config)) {
    if (!headed && name.startsWith('classifier.')) continue;
    if (kind === 'bert-missing-tensor' && name.endsWith('layer.0.output.dense.bias')) continue;
    const s =
      kind === 'bert-wrong-shape' && name.endsWith('layer.0.intermediate.dense.weight')
        ? [8, 8]
        : shape;
    tensors.set(name, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) });
  }
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  const size = kind === 'bert-tokenizer-too-big' ? 20 : 16;
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  while (vocab.length < size) vocab.push(`w${vocab.length}`);
  await writeFile(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
  return dir;
}
