/**
 * A BERT sequence classifier on disk in Hugging Face's layout: `config.json` +
 * `model.safetensors` (or sharded), read through the checkpoint reader from a folder, `s3://`
 * or `https://` (resolveCheckpoint), and written back the same way after fine-tuning.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRng } from '@rdlab/core';
import { readCheckpointTensors } from '../checkpoint/reader.js';
import { type CheckpointSourceOptions, resolveCheckpoint } from '../checkpoint/source.js';
import { ModelFileError } from '../errors.js';
import { type TensorMap, writeSafetensors } from '../safetensors.js';
import {
  type BertConfig,
  bertConfigFromJson,
  bertConfigJson,
  bertParameterName,
  bertParameterShapes,
  initBertParameters,
} from './config.js';

export { bertParameterName } from './config.js';

/** What {@link readBertCheckpoint} found. */
export interface BertCheckpoint {
  /** The local folder (after resolving a remote reference). */
  dir: string;
  config: BertConfig;
  /** Every parameter under {@link bertParameterShapes}' names. */
  parameters: TensorMap;
  /**
   * Head tensors the checkpoint lacks, initialised as transformers does (a pretraining checkpoint
   * such as bert-base-uncased has no `classifier.*`; BertForSequenceClassification.from_pretrained
   * initialises it N(0, initializer_range)).
   */
  initialised: string[];
  /** Stored tensors that are not parameters of the classifier (pretraining heads, buffers). */
  ignored: string[];
}

export interface ReadBertOptions extends CheckpointSourceOptions {
  /** Seed of the init of a missing head. @defaultValue 0 */
  seed?: number;
}

// Tensors a checkpoint may hold that BertForSequenceClassification does not use: the
// position_ids buffer and bert-base-uncased's pretraining heads (cls.predictions, cls.seq_relationship).
const IGNORED = /(^|\.)position_ids$|^cls\.|^bert\.cls\./;
// Parameters a checkpoint may lack: the head (and the pooler, which some encoder-only files drop).
const INITIALISABLE = /^(classifier|bert\.pooler)\./;

/** Reads config.json and the tensors, checks every shape against the config. */
export async function readBertCheckpoint(
  ref: string,
  options: ReadBertOptions = {},
): Promise<BertCheckpoint> {
  const dir = await resolveCheckpoint(ref, options);
  const configPath = join(dir, 'config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(
      code === 'ENOENT' ? 'RDLAB_CHECKPOINT_MISSING' : 'RDLAB_CHECKPOINT_MALFORMED',
      configPath,
      code === 'ENOENT' ? 'no such file' : (error as Error).message,
    );
  }
  const config = bertConfigFromJson(json, configPath);
  const stored = await readCheckpointTensors(dir);
  const shapes = new Map(bertParameterShapes(config));
  const parameters: TensorMap = new Map();
  const from = new Map<string, string>();
  const ignored: string[] = [];
  for (const [key, tensor] of stored) {
    const name = bertParameterName(key);
    if (!shapes.has(name)) {
      if (!IGNORED.test(key)) ignored.push(key);
      continue;
    }
    const other = from.get(name);
    if (other !== undefined)
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MALFORMED',
        key,
        `ambiguous: both ${other} and ${key} are ${name}`,
      );
    const expected = shapes.get(name) as number[];
    if (tensor.shape.length !== expected.length || tensor.shape.some((d, i) => d !== expected[i]))
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MALFORMED',
        key,
        `expected shape [${expected}] from config.json, found [${tensor.shape}]`,
      );
    from.set(name, key);
    parameters.set(name, tensor);
  }
  const missing = [...shapes.keys()].filter((name) => !parameters.has(name));
  const fatal = missing.filter((name) => !INITIALISABLE.test(name));
  if (fatal.length > 0)
    throw new ModelFileError(
      'RDLAB_CHECKPOINT_MALFORMED',
      dir,
      `tensor ${fatal[0]} is missing${fatal.length > 1 ? ` (and ${fatal.length - 1} more)` : ''}`,
    );
  if (missing.length > 0) {
    const init = initBertParameters(
      config,
      createRng(options.seed ?? 0, 'bert-head'),
      new Set(missing),
    );
    for (const [name, t] of init) parameters.set(name, t);
  }
  return { dir, config, parameters, initialised: missing, ignored };
}

/** Writes config.json and model.safetensors, which transformers loads as BertForSequenceClassification. */
export async function writeBertCheckpoint(
  dir: string,
  config: BertConfig,
  parameters: TensorMap,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(bertConfigJson(config), null, 2)}\n`);
  const ordered: TensorMap = new Map(
    bertParameterShapes(config).map(([name]) => {
      const t = parameters.get(name);
      if (!t) throw new Error(`writeBertCheckpoint: parameter ${name} is missing`);
      return [name, t];
    }),
  );
  await writeSafetensors(join(dir, 'model.safetensors'), ordered, { format: 'pt' });
}
