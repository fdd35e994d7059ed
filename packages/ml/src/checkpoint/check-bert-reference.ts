/**
 * Checks a BERT reward-model checkpoint reference without reading its weights: config.json (a
 * `bert` BertConfig), every `bert.*`/`classifier.*` tensor of the safetensors header(s) against the
 * shapes the config implies, and its WordPiece vocabulary (tokenizer.json or vocab.txt) against
 * `vocab_size`. The head (`classifier.*`, and the pooler) may be absent: a pretrained-only
 * checkpoint gets one initialised and fine-tuned. Imports no engine (the API calls it).
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BertConfig,
  bertConfigFromJson,
  bertParameterName,
  bertParameterShapes,
} from '../bert/config.js';
import {
  isRemoteReference,
  localReferencePath,
  type ReferenceCheckOptions,
  tokenizerVocabSize,
} from './check-reference.js';
import { openCheckpoint } from './reader.js';

export interface BertReferenceCheck {
  /** What is wrong, each a sentence naming the file or tensor; empty when good or unchecked. */
  problems: string[];
  /** Why the reference was not read (a remote reference), or null when it was. */
  unchecked: string | null;
  config: BertConfig | null;
  /** Whether the checkpoint has a classifier head (else it is initialised for fine-tuning). */
  hasHead: boolean;
  /** An rdlab CNN checkpoint (classifier.json), which is not a BERT and is not checked here. */
  cnn: boolean;
}

// Parameters a pretrained-only checkpoint may lack (readBertCheckpoint initialises them).
const INITIALISABLE = /^(classifier|bert\.pooler)\./;

/** Tokens of a BERT folder's tokenizer: tokenizer.json, else vocab.txt's lines; null if neither. */
async function bertVocabSize(dir: string): Promise<number | null> {
  const size = await tokenizerVocabSize(dir);
  if (size !== null) return size;
  const text = await readFile(join(dir, 'vocab.txt'), 'utf8').catch(() => null);
  if (text === null) return null;
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.length;
}

/** Checks BERT checkpoint `ref` (see the module comment). */
export async function checkBertReference(
  ref: string,
  options: ReferenceCheckOptions = {},
): Promise<BertReferenceCheck> {
  const out: BertReferenceCheck = {
    problems: [],
    unchecked: null,
    config: null,
    hasHead: false,
    cnn: false,
  };
  if (isRemoteReference(ref)) {
    out.unchecked = `${ref} is remote: it is read when a worker fetches it`;
    return out;
  }
  const dir = localReferencePath(ref, options.baseDir);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) {
    out.problems.push(`no such folder (${dir})`);
    return out;
  }
  if (await stat(join(dir, 'classifier.json')).catch(() => null)) {
    out.cnn = true;
    return out;
  }
  const configText = await readFile(join(dir, 'config.json'), 'utf8').catch(() => null);
  if (configText === null) {
    out.problems.push('config.json is missing (a BERT checkpoint needs one)');
    return out;
  }
  try {
    out.config = bertConfigFromJson(JSON.parse(configText), 'config.json');
  } catch (error) {
    out.problems.push((error as Error).message);
    return out;
  }
  const config = out.config;
  try {
    const reader = await openCheckpoint(dir);
    try {
      const found = new Map<string, number[]>();
      for (const [key, info] of reader.tensors) found.set(bertParameterName(key), info.shape);
      out.hasHead = found.has('classifier.weight');
      for (const [name, shape] of bertParameterShapes(config)) {
        const got = found.get(name);
        if (!got) {
          if (!INITIALISABLE.test(name))
            out.problems.push(`tensor '${name}' is missing from the weights`);
        } else if (got.join(',') !== shape.join(','))
          out.problems.push(
            `tensor '${name}' has shape [${got.join(', ')}]; config.json implies [${shape.join(', ')}]`,
          );
        if (out.problems.length >= 5) break;
      }
    } finally {
      await reader.close();
    }
  } catch (error) {
    out.problems.push((error as Error).message);
  }
  let vocab: number | null = null;
  try {
    vocab = await bertVocabSize(dir);
  } catch (error) {
    out.problems.push(`tokenizer.json: ${(error as Error).message}`);
  }
  if (vocab === null) out.problems.push('has no tokenizer: neither tokenizer.json nor vocab.txt');
  else if (vocab > config.vocab_size)
    out.problems.push(
      `its tokenizer has ${vocab} tokens, more than config.json's vocab_size ${config.vocab_size}`,
    );
  return out;
}
