/**
 * Checks a decoder checkpoint reference without reading its weights: `config.json` (its family
 * by `model_type`), the safetensors header(s) against the shapes the config implies, and the
 * vocabulary of its tokenizer (`tokenizer.json`, or the in-house `vocab.json`) against the
 * config's `vocab_size`. Local folders and `https://`/`s3://` references alike (the frame is
 * reference-check.ts). Imports no engine: the API calls it before it stores a spec.
 *
 * ```ts
 * const check = await checkDecoderReference('/models/opt-125m');
 * check.problems; // ["tensor 'decoder.layers.0.fc1.weight' has shape [8, 16]; config.json implies [32, 16]"]
 * ```
 */
import type { DecoderConfig } from '@rdlab/core';
import { decoderConfigFromJson } from '../gpt2/config-json.js';
import { gpt2ParameterShapes, parameterNameOf } from '../gpt2/params.js';
import {
  checkReference,
  type FamilyCheck,
  type ReferenceCheckOptions,
  type ReferenceFamily,
} from './reference-check.js';
import { localReferenceFiles } from './reference-files.js';
import { type RemoteOptions, remoteReferenceFiles, UnreachableError } from './remote-reference.js';
import { tokenizerVocabSizeOf } from './vocab-size.js';

export type { ReferenceCheckOptions } from './reference-check.js';
export { isRemoteReference, localReferencePath } from './reference-files.js';

export type ReferenceCheck = Omit<FamilyCheck<DecoderConfig>, 'tensors'>;

/** GPT-2, OPT and XGLM checkpoints; π may lack a tokenizer of its own (it reads β's). */
const DECODER: ReferenceFamily<DecoderConfig> = {
  missingConfig: 'config.json is missing',
  config: (json) => decoderConfigFromJson(json, 'config.json'),
  parameterShapes: gpt2ParameterShapes,
  parameterName: (key, config) => parameterNameOf(key, config.family ?? 'gpt2'),
  vocabSize: tokenizerVocabSizeOf,
};

/** Checks decoder checkpoint `ref` (see the module comment). */
export async function checkDecoderReference(
  ref: string,
  options: ReferenceCheckOptions = {},
): Promise<ReferenceCheck> {
  const { tensors: _, ...check } = await checkReference(ref, DECODER, options);
  return check;
}

/**
 * The vocabulary size of a tokenizer folder, from tokenizer.json (largest id of the model's
 * vocabulary and its added tokens, plus one) or vocab.json; null when it has neither.
 */
export async function tokenizerVocabSize(dir: string): Promise<number | null> {
  return tokenizerVocabSizeOf(localReferenceFiles(dir));
}

/** {@link tokenizerVocabSize} of a remote reference (GET); throws when it is unreachable. */
export async function remoteTokenizerVocabSize(
  ref: string,
  options: RemoteOptions = {},
): Promise<number | null> {
  return tokenizerVocabSizeOf(remoteReferenceFiles(ref, options));
}

/** Whether `error` says a remote reference could not be read (rather than being malformed). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof UnreachableError;
}
