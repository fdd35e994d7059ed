/**
 * A Hugging Face checkpoint folder's weights, whole or sharded: `model.safetensors`, or the
 * shards that `model.safetensors.index.json` lists (`weight_map`: tensor name → file). Owns
 * finding the files, checking that the index and the shards' headers agree, and reading tensors
 * one at a time across shards (see {@link SafetensorsFile} for the reading itself).
 *
 * ```ts
 * const checkpoint = await openCheckpoint('/models/opt-1.3b');
 * for await (const t of checkpoint.entries()) engine.upload(t.name, t.shape, t.data); // then dropped
 * await checkpoint.close();
 * ```
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError } from '../errors.js';
import type { NamedTensor, TensorMap } from '../safetensors.js';
import {
  type LoadedTensor,
  type ReadTensorOptions,
  SafetensorsFile,
  type TensorInfo,
} from './safetensors-file.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

export class CheckpointReader {
  private constructor(
    readonly dir: string,
    /** The safetensors files, in the order their tensors are read. */
    readonly files: readonly SafetensorsFile[],
    /** Every tensor, in read order (file by file, by offset). */
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    /** The index's `metadata` (e.g. `total_size`), or the single file's `__metadata__`. */
    readonly metadata: Readonly<Record<string, unknown>>,
    private readonly fileOf: Map<string, SafetensorsFile>,
  ) {}

  /** Opens `dir`: the index and its shards when present, else `model.safetensors`. */
  static async open(dir: string): Promise<CheckpointReader> {
    const indexPath = join(dir, WEIGHTS_INDEX_FILE);
    const indexText = await readFile(indexPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw new ModelFileError('RDLAB_CHECKPOINT_MALFORMED', indexPath, e.message);
    });
    if (indexText === null) {
      const file = await SafetensorsFile.open(join(dir, WEIGHTS_FILE)).catch((error) => {
        if ((error as ModelFileError).code === 'RDLAB_CHECKPOINT_MISSING')
          throw new ModelFileError(
            'RDLAB_CHECKPOINT_MISSING',
            dir,
            `has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE}`,
          );
        throw error;
      });
      const fileOf = new Map([...file.tensors.keys()].map((n) => [n, file]));
      return new CheckpointReader(dir, [file], file.tensors, file.metadata, fileOf);
    }
    const weightMap = parseWeightsIndex(indexText, indexPath);
    const shardNames = indexShards(weightMap, indexPath);
    const files: SafetensorsFile[] = [];
    try {
      for (const shard of shardNames) files.push(await SafetensorsFile.open(join(dir, shard)));
      const byName = new Map(shardNames.map((s, i) => [s, files[i] as SafetensorsFile]));
      const fileOf = new Map<string, SafetensorsFile>();
      for (const [tensor, shard] of Object.entries(weightMap)) {
        const file = byName.get(shard) as SafetensorsFile;
        if (!file.tensors.has(tensor)) throw shardLacksTensor(file.path, tensor);
        fileOf.set(tensor, file);
      }
      const tensors = new Map<string, TensorInfo>();
      for (const file of files)
        for (const [name, info] of file.tensors)
          if (fileOf.get(name) === file) tensors.set(name, info);
      const metadata =
        (JSON.parse(indexText) as { metadata?: Record<string, unknown> }).metadata ?? {};
      return new CheckpointReader(dir, files, tensors, metadata, fileOf);
    } catch (error) {
      await Promise.all(files.map((f) => f.close()));
      throw error;
    }
  }

  /** Reads one tensor into a typed array of its own. */
  read(name: string, options: ReadTensorOptions = {}): Promise<LoadedTensor> {
    const file = this.fileOf.get(name);
    if (!file)
      throw new ModelFileError('RDLAB_CHECKPOINT_MALFORMED', this.dir, `has no tensor '${name}'`);
    return file.read(name, options);
  }

  /** Yields the tensors (all, or those in `names`) one at a time, shard by shard in file order. */
  async *entries(
    options: ReadTensorOptions & { names?: Iterable<string> } = {},
  ): AsyncGenerator<LoadedTensor> {
    const wanted = options.names ? new Set(options.names) : null;
    for (const name of this.tensors.keys())
      if (!wanted || wanted.has(name)) yield await this.read(name, options);
  }

  async close(): Promise<void> {
    await Promise.all(this.files.map((f) => f.close()));
  }
}

export function openCheckpoint(dir: string): Promise<CheckpointReader> {
  return CheckpointReader.open(dir);
}

/**
 * Every (F32/F16/BF16) tensor of a checkpoint folder as float32, whole or sharded: for models that
 * fit in memory; an engine loading a large one iterates {@link CheckpointReader.entries} instead.
 */
export async function readCheckpointTensors(dir: string): Promise<TensorMap> {
  const reader = await openCheckpoint(dir);
  try {
    const out: TensorMap = new Map();
    for await (const t of reader.entries())
      out.set(t.name, { shape: t.shape, data: t.data as Float32Array } satisfies NamedTensor);
    return out;
  } finally {
    await reader.close();
  }
}

/** The index's tensor → shard file map; throws naming `path` when it is not one. */
export function parseWeightsIndex(text: string, path: string): Record<string, string> {
  let index: { weight_map?: unknown };
  try {
    index = JSON.parse(text) as { weight_map?: unknown };
  } catch (error) {
    throw new ModelFileError(
      'RDLAB_CHECKPOINT_MALFORMED',
      path,
      `not valid JSON (${(error as Error).message})`,
    );
  }
  const map = index.weight_map;
  if (
    typeof map !== 'object' ||
    map === null ||
    !Object.values(map).every((v) => typeof v === 'string')
  )
    throw new ModelFileError(
      'RDLAB_CHECKPOINT_MALFORMED',
      path,
      'has no weight_map of tensor name → file name',
    );
  return map as Record<string, string>;
}

/**
 * The index's shard files, sorted; each must be a plain file name in the checkpoint's folder (a
 * path in it could read outside the folder).
 */
export function indexShards(weightMap: Record<string, string>, indexPath: string): string[] {
  const shards = [...new Set(Object.values(weightMap))].sort();
  for (const shard of shards)
    if (shard.includes('/') || shard.includes('\\') || shard.startsWith('.'))
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MALFORMED',
        indexPath,
        `shard name '${shard}' is not a file name in the folder`,
      );
  return shards;
}

/** The index names a tensor that its shard's header does not list. */
export function shardLacksTensor(shardPath: string, tensor: string): ModelFileError {
  return new ModelFileError(
    'RDLAB_CHECKPOINT_MALFORMED',
    `${shardPath}: tensor '${tensor}'`,
    `${WEIGHTS_INDEX_FILE} puts it in this shard, whose header does not list it`,
  );
}
