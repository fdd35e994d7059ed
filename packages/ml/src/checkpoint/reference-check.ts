/**
 * The frame every checkpoint reference check shares, whatever the model family: read config.json
 * by the family's rules, compare the safetensors headers' shapes with the ones it implies, and the
 * checkpoint's tokenizer with its `vocab_size`; a local folder and a remote source alike, through
 * {@link ReferenceFiles}. A remote source that cannot be read is a problem, or `unchecked` in a
 * best-effort check. Each family (check-reference.ts, check-bert-reference.ts) is a
 * {@link ReferenceFamily}.
 */
import { stat } from 'node:fs/promises';
import { checkpointShapes } from './checkpoint-shapes.js';
import {
  isRemoteReference,
  localReferenceFiles,
  localReferencePath,
  type ReferenceFiles,
} from './reference-files.js';
import { type RemoteOptions, remoteReferenceFiles, UnreachableError } from './remote-reference.js';

export interface ReferenceCheckOptions extends RemoteOptions {
  /** Base of relative paths. @defaultValue cwd */
  baseDir?: string;
  /**
   * An unreachable remote reference is `unchecked` rather than a problem (`rdlab plan`, which may
   * run where the store is not reachable). @defaultValue false
   */
  bestEffort?: boolean;
}

/** What a family's check reads: its config, its parameters, its tokenizer. */
export interface ReferenceFamily<C extends { vocab_size: number }> {
  /** The problem when config.json is absent. */
  missingConfig: string;
  /** config.json read by the family's rules; throws naming the field it refuses. */
  config(json: Record<string, unknown>): C;
  /** Every parameter the config implies, by name and shape. */
  parameterShapes(config: C): Array<[string, number[]]>;
  /** The parameter a checkpoint key holds, or null for a tensor the model does not read. */
  parameterName(key: string, config: C): string | null;
  /** Parameters the weights may lack (a head a worker initialises for fine-tuning). */
  initialisable?: RegExp;
  /** Tokens of the checkpoint's own tokenizer, or null when it has none. */
  vocabSize(files: ReferenceFiles): Promise<number | null>;
  /** The problem when it has no tokenizer; absent when it may have none. */
  missingTokenizer?: string;
}

export interface FamilyCheck<C> {
  /** What is wrong, each a sentence naming the file or tensor; empty when good or unchecked. */
  problems: string[];
  /** Why the reference was not read (unreachable, in a best-effort check), or null when it was. */
  unchecked: string | null;
  /** The config, when config.json could be read. */
  config: C | null;
  /** The weights' shapes by checkpoint key, when their headers could be read. */
  tensors: ReadonlyMap<string, number[]> | null;
  /** The vocabulary of the checkpoint's own tokenizer, or null when it has none. */
  tokenizerVocabSize: number | null;
}

// A config that disagrees with its weights does so in every layer: the first few say enough.
const MAX_SHAPE_PROBLEMS = 5;

/** `ref`'s files: by requests when it is remote, else from its folder (relative to `baseDir`). */
export function referenceFiles(ref: string, options: ReferenceCheckOptions = {}): ReferenceFiles {
  return isRemoteReference(ref)
    ? remoteReferenceFiles(ref, options)
    : localReferenceFiles(localReferencePath(ref, options.baseDir));
}

/** Checks reference `ref` as a checkpoint of `family` (see the module comment). */
export async function checkReference<C extends { vocab_size: number }>(
  ref: string,
  family: ReferenceFamily<C>,
  options: ReferenceCheckOptions = {},
): Promise<FamilyCheck<C>> {
  const out: FamilyCheck<C> = {
    problems: [],
    unchecked: null,
    config: null,
    tensors: null,
    tokenizerVocabSize: null,
  };
  if (!isRemoteReference(ref)) {
    const dir = localReferencePath(ref, options.baseDir);
    if (!(await stat(dir).catch(() => null))?.isDirectory()) {
      out.problems.push(`no such folder (${dir})`);
      return out;
    }
  }
  try {
    await checkFiles(referenceFiles(ref, options), family, out);
  } catch (error) {
    if (!(error instanceof UnreachableError)) throw error;
    if (options.bestEffort) out.unchecked = `${ref} is unreachable: ${error.message}`;
    else out.problems.push(`unreachable: ${error.message}`);
  }
  return out;
}

/** The checks proper; throws {@link UnreachableError} when a remote source cannot be read. */
async function checkFiles<C extends { vocab_size: number }>(
  files: ReferenceFiles,
  family: ReferenceFamily<C>,
  out: FamilyCheck<C>,
): Promise<void> {
  const configText = await files.text('config.json');
  if (configText === null) {
    out.problems.push(family.missingConfig);
    return;
  }
  try {
    out.config = family.config(JSON.parse(configText) as Record<string, unknown>);
  } catch (error) {
    out.problems.push((error as Error).message);
    return;
  }
  const config = out.config;
  try {
    out.tensors = await checkpointShapes(files);
    out.problems.push(...shapeProblems(family, config, out.tensors));
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    out.problems.push((error as Error).message);
  }
  try {
    out.tokenizerVocabSize = await family.vocabSize(files);
  } catch (error) {
    if (error instanceof UnreachableError) throw error;
    out.problems.push(`tokenizer.json: ${(error as Error).message}`);
  }
  if (out.tokenizerVocabSize === null) {
    if (family.missingTokenizer) out.problems.push(family.missingTokenizer);
  } else if (out.tokenizerVocabSize > config.vocab_size)
    out.problems.push(
      `its tokenizer has ${out.tokenizerVocabSize} tokens, more than config.json's vocab_size ${config.vocab_size}`,
    );
}

/** The weights' shapes (checkpoint keys) against the config's, at most {@link MAX_SHAPE_PROBLEMS}. */
function shapeProblems<C extends { vocab_size: number }>(
  family: ReferenceFamily<C>,
  config: C,
  tensors: ReadonlyMap<string, number[]>,
): string[] {
  const found = new Map<string, number[]>();
  for (const [key, shape] of tensors) {
    const name = family.parameterName(key, config);
    if (name !== null) found.set(name, shape);
  }
  const problems: string[] = [];
  for (const [name, shape] of family.parameterShapes(config)) {
    const got = found.get(name);
    if (!got) {
      if (!family.initialisable?.test(name))
        problems.push(`tensor '${name}' is missing from the weights`);
    } else if (got.join(',') !== shape.join(','))
      problems.push(
        `tensor '${name}' has shape [${got.join(', ')}]; config.json implies [${shape.join(', ')}]`,
      );
    if (problems.length >= MAX_SHAPE_PROBLEMS) break;
  }
  return problems;
}
