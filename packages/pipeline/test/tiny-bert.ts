/**
 * A tiny pretrained-only BERT for tests: random weights as transformers initialises them, no
 * classifier head (the pipeline initialises and fine-tunes one), and a WordPiece vocab.txt of
 * every word of the built-in demo corpus, so R's tokenizer reads the demo text without [UNK].
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng } from '@rdlab/core';
import { demoSplit } from '@rdlab/data';
import {
  type BertConfig,
  bertConfigJson,
  initBertParameters,
  type TensorMap,
  writeSafetensors,
} from '@rdlab/ml';

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The demo corpus's words and punctuation, as BERT's basic tokenizer splits them. */
function demoVocabulary(): string[] {
  const words = new Set<string>();
  for (const split of ['train', 'dev'])
    for (const r of demoSplit(split))
      for (const w of r.text.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) words.add(w);
  return [...SPECIAL, ...[...words].sort()];
}

/** Writes the checkpoint to `dir`; `labels` adds a random head of those classes. */
export async function writeTinyBert(
  dir: string,
  options: { labels?: string[] } = {},
): Promise<void> {
  const vocab = demoVocabulary();
  const config: BertConfig = {
    model_type: 'bert',
    vocab_size: vocab.length,
    hidden_size: 16,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    intermediate_size: 32,
    hidden_act: 'gelu',
    max_position_embeddings: 40,
    type_vocab_size: 2,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    num_labels: options.labels?.length ?? 2,
    labels: options.labels ?? ['LABEL_0', 'LABEL_1'],
    classifier_dropout: 0.1,
    initializer_range: 0.02,
  };
  const parameters: TensorMap = initBertParameters(config, createRng(7, 'tiny-bert'));
  const json = bertConfigJson(config);
  if (!options.labels) {
    parameters.delete('classifier.weight');
    parameters.delete('classifier.bias');
    // A pretraining config: no head, so no labels.
    delete json.id2label;
    delete json.label2id;
    json.architectures = ['BertForPreTraining'];
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
  await writeSafetensors(join(dir, 'model.safetensors'), parameters, { format: 'pt' });
  await writeFile(join(dir, 'vocab.txt'), `${vocab.join('\n')}\n`);
}
