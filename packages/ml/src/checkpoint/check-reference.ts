/**
 * Checks a decoder checkpoint reference without reading its weights: `config.json` (its family
 * by `model_type`), the safetensors header(s) against the shapes the config implies, and the
 * vocabulary of its tokenizer (`tokenizer.json`, or the in-house `vocab.json`) against the
 * config's `vocab_size`. Local folders are read from disk; `https://` and `s3://` references by
 * GET and Range requests (remote-reference.ts). Imports no engine: the API calls it before it
 * stores a spec.
 *
 * ```ts
 * const check = await checkDecoderReference('/models/opt-125m');
 * check.problems; // ["tensor 'decoder.layers.0.fc1.weight' has shape [8, 16]; config.json implies [32, 16]"]
 * ```
 */
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecoderConfig } from '@rdlab/core';
import { decoderConfigFromJson } from '../gpt2/config-json.js';
import { gpt2ParameterShapes, parameterNameOf } from '../gpt2/params.js';
import { openCheckpoint, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './reader.js';
import {
  type RemoteFiles,
  type RemoteOptions,
  remoteFiles,
  remoteSafetensorsShapes,
  UnreachableError,
} from './remote-reference.js';

export interface ReferenceCheck {
  /** What is wrong, each a sentence naming the file or tensor; empty when good or unchecked. */
  problems: string[];
  /** Why the reference was not read (unreachable, in a best-effort check), or null when it was. */
  unchecked: string | null;
  /** The config, when config.json could be read. */
  config: DecoderConfig | null;
  /** The vocabulary of the checkpoint's own tokenizer, or null when it has none. */
  tokenizerVocabSize: number | null;
}

export interface ReferenceCheckOptions extends RemoteOptions {
  /** Base of relative paths. @defaultValue cwd */
  baseDir?: string;
  /**
   * An unreachable remote reference is `unchecked` rather than a problem (`rdlab plan`, which may
   * run where the store is not reachable). @defaultValue false
   */
  bestEffort?: boolean;
}

/** True for `https://`, `http://` and `s3://` references (read by requests, not from disk). */
export function isRemoteReference(ref: string): boolean {
  return /^(https?|s3):\/\//.test(ref);
}

/** A local reference's folder: `file://…`, an absolute path, or relative to `baseDir`. */
export function localReferencePath(ref: string, baseDir = process.cwd()): string {
  if (ref.startsWith('file://')) return fileURLToPath(ref);
  return isAbsolute(ref) ? ref : resolve(baseDir, ref);
}

/**
 * The vocabulary size of a tokenizer folder, from tokenizer.json (largest id of the model's
 * vocabulary and its added tokens, plus one) or vocab.json; null when it has neither.
 */
export async function tokenizerVocabSize(dir: string): Promise<number | null> {
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => null);
  return vocabSizeOf(read);
}

/** {@link tokenizerVocabSize} of a remote reference (GET); throws when it is unreachable. */
export async function remoteTokenizerVocabSize(
  ref: string,
  options: RemoteOptions = {},
): Promise<number | null> {
  const files = remoteFiles(ref, options);
  return vocabSizeOf((name) => files.text(name));
}

/** Whether `error` says a remote reference could not be read (rather than being malformed). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof UnreachableError;
}

async function vocabSizeOf(read: (name: string) => Promise<string | null>) {
  const text = await read('tokenizer.json');
  if (text !== null) {
    const json = JSON.parse(text) as {
      model?: { vocab?: Record<string, number> | Array<unknown> };
      added_tokens?: Array<{ id?: number }>;
    };
    const vocab = json.model?.vocab;
    let max = -1;
    if (Array.isArray(vocab))
      max = vocab.length - 1; // Unigram: [piece, score] rows
    else for (const id of Object.values(vocab ?? {})) if (id > max) max = id;
    for (const t of json.added_tokens ?? []) if ((t.id ?? -1) > max) max = t.id as number;
    return max + 1;
  }
  const vocabText = await read('vocab.json');
  if (vocabText === null) return null;
  return Math.max(-1, ...Object.values(JSON.parse(vocabText) as Record<string, number>)) + 1;
}

/** Checks decoder checkpoint `ref` (see the module comment). */
export async function checkDecoderReference(
  ref: string,
  options: ReferenceCheckOptions = {},
): Promise<ReferenceCheck> {
  const out: ReferenceCheck = {
    problems: [],
    unchecked: null,
    config: null,
    tokenizerVocabSize: null,
  };
  if (isRemoteReference(ref)) {
    try {
      await checkRemote(remoteFiles(ref, options), out);
    } catch (error) {
      if (!(error instanceof UnreachableError)) throw error;
      if (options.bestEffort) out.unchecked = `${ref} is unreachable: ${error.message}`;
      else out.problems.push(`unreachable: ${error.message}`);
    }
    return out;
  }
  const dir = localReferencePath(ref, options.baseDir);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) {
    out.problems.push(`no such folder (${dir})`);
    return out;
  }
  const configText = await readFile(join(dir, 'config.json'), 'utf8').catch(() => null);
  if (configText === null) {
    out.problems.push('config.json is missing');
    return out;
  }
  try {
    out.config = decoderConfigFromJson(JSON.parse(configText), 'config.json');
  } catch (error) {
    out.problems.push((error as Error).message);
    return out;
  }
  const config = out.config;
  try {
    const reader = await openCheckpoint(dir);
    try {
      compareShapes(
        config,
        [...reader.tensors].map(([key, info]) => [key, info.shape]),
        out,
      );
    } finally {
      await reader.close();
    }
  } catch (error) {
    out.problems.push((error as Error).message);
  }
  try {
    out.tokenizerVocabSize = await tokenizerVocabSize(dir);
  } catch (error) {
    out.problems.push(`tokenizer.json: ${(error as Error).message}`);
  }
  if (out.tokenizerVocabSize !== null && out.tokenizerVocabSize > config.vocab_size)
    out.problems.push(
      `its tokenizer has ${out.tokenizerVocabSize} tokens, more than config.json's vocab_size ${config.vocab_size}`,
    );
  return out;
}

/** The weights' shapes (checkpoint keys) against the config's (see the module comment). */
function compareShapes(
  config: DecoderConfig,
  tensors: Iterable<[string, number[]]>,
  out: ReferenceCheck,
): void {
  const family = config.family ?? 'gpt2';
  const found = new Map<string, number[]>();
  for (const [key, shape] of tensors) {
    const name = parameterNameOf(key, family);
    if (name !== null) found.set(name, shape);
  }
  for (const [name, shape] of gpt2ParameterShapes(config)) {
    const got = found.get(name);
    if (!got) out.problems.push(`tensor '${name}' is missing from the weights`);
    else if (got.join(',') !== shape.join(','))
      out.problems.push(
        `tensor '${name}' has shape [${got.join(', ')}]; config.json implies [${shape.join(', ')}]`,
      );
    if (out.problems.length >= 5) break;
  }
}

/**
 * A remote reference's checks: config.json and the tokenizer by GET, each safetensors header by
 * Range requests. Throws {@link UnreachableError} when the source cannot be read.
 */
async function checkRemote(files: RemoteFiles, out: ReferenceCheck): Promise<void> {
  const configText = await files.text('config.json');
  if (configText === null) {
    out.problems.push('config.json is missing');
    return;
  }
  try {
    out.config = decoderConfigFromJson(JSON.parse(configText), 'config.json');
  } catch (error) {
    out.problems.push((error as Error).message);
    return;
  }
  const config = out.config;
  try {
    const tensors: Array<[string, number[]]> = [];
    const indexText = await files.text(WEIGHTS_INDEX_FILE);
    const shards = indexText
      ? [
          ...new Set(
            Object.values(
              (JSON.parse(indexText) as { weight_map?: Record<string, string> }).weight_map ?? {},
            ),
          ),
        ].sort()
      : [WEIGHTS_FILE];
    for (const shard of shards) {
      const shapes = await remoteSafetensorsShapes(files, shard);
      if (shapes === null) {
        out.problems.push(`${shard} is missing`);
        return;
      }
      tensors.push(...shapes);
    }
    compareShapes(config, tensors, out);
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    out.problems.push((error as Error).message);
  }
  try {
    out.tokenizerVocabSize = await vocabSizeOf((name) => files.text(name));
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    out.problems.push(`tokenizer.json: ${(error as Error).message}`);
  }
  if (out.tokenizerVocabSize !== null && out.tokenizerVocabSize > config.vocab_size)
    out.problems.push(
      `its tokenizer has ${out.tokenizerVocabSize} tokens, more than config.json's vocab_size ${config.vocab_size}`,
    );
}
