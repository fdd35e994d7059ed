/**
 * Checks a BERT reward-model checkpoint reference without reading its weights: config.json (a
 * `bert` BertConfig), every `bert.*`/`classifier.*` tensor of the safetensors header(s) against the
 * shapes the config implies, and its WordPiece vocabulary (tokenizer.json or vocab.txt) against
 * `vocab_size`. The head (`classifier.*`, and the pooler) may be absent: a pretrained-only
 * checkpoint gets one initialised and fine-tuned. Local folders and `https://`/`s3://` references
 * alike (the frame is reference-check.ts). Imports no engine (the API calls it).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BertConfig,
  bertConfigFromJson,
  bertParameterName,
  bertParameterShapes,
} from '../bert/config.js';
import {
  checkReference,
  type ReferenceCheckOptions,
  type ReferenceFamily,
} from './reference-check.js';
import { isRemoteReference, localReferencePath, type ReferenceFiles } from './reference-files.js';
import { tokenizerVocabSizeOf } from './vocab-size.js';

export interface BertReferenceCheck {
  /** What is wrong, each a sentence naming the file or tensor; empty when good or unchecked. */
  problems: string[];
  /** Why the reference was not read (unreachable, in a best-effort check), or null when it was. */
  unchecked: string | null;
  config: BertConfig | null;
  /** Whether the checkpoint has a classifier head (else it is initialised for fine-tuning). */
  hasHead: boolean;
  /** An rdlab CNN checkpoint (classifier.json), which is not a BERT and is not checked here. */
  cnn: boolean;
}

/** BertForSequenceClassification checkpoints, with or without their head. */
const BERT: ReferenceFamily<BertConfig> = {
  missingConfig: 'config.json is missing (a BERT checkpoint needs one)',
  config: (json) => bertConfigFromJson(json, 'config.json'),
  parameterShapes: bertParameterShapes,
  parameterName: bertParameterName,
  // Parameters a pretrained-only checkpoint may lack (readBertCheckpoint initialises them).
  initialisable: /^(classifier|bert\.pooler)\./,
  vocabSize: bertVocabSize,
  missingTokenizer: 'has no tokenizer: neither tokenizer.json nor vocab.txt',
};

/** Tokens of a BERT checkpoint's tokenizer: tokenizer.json, else vocab.txt's lines; null if neither. */
async function bertVocabSize(files: ReferenceFiles): Promise<number | null> {
  const size = await tokenizerVocabSizeOf(files);
  if (size !== null) return size;
  const text = await files.text('vocab.txt');
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
  // An rdlab CNN is only ever a local folder (the pipeline takes any remote one for a BERT).
  if (!isRemoteReference(ref)) {
    const dir = localReferencePath(ref, options.baseDir);
    if (await stat(join(dir, 'classifier.json')).catch(() => null))
      return { problems: [], unchecked: null, config: null, hasHead: false, cnn: true };
  }
  const check = await checkReference(ref, BERT, options);
  return {
    problems: check.problems,
    unchecked: check.unchecked,
    config: check.config,
    hasHead: check.tensors?.has('classifier.weight') ?? false,
    cnn: false,
  };
}
