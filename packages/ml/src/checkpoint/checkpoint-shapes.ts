/**
 * A checkpoint's tensor shapes from its safetensors headers alone, through {@link ReferenceFiles}
 * (a local folder or a remote source): `model.safetensors`, or the shards that
 * `model.safetensors.index.json` lists. The same files, names and errors as {@link openCheckpoint},
 * which a worker later loads the weights with.
 */
import { ModelFileError } from '../errors.js';
import {
  indexShards,
  parseWeightsIndex,
  shardLacksTensor,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
} from './reader.js';
import type { ReferenceFiles } from './reference-files.js';

/** Every tensor's shape by checkpoint key; throws a ModelFileError naming what is missing or damaged. */
export async function checkpointShapes(
  files: ReferenceFiles,
): Promise<ReadonlyMap<string, number[]>> {
  const indexText = await files.text(WEIGHTS_INDEX_FILE);
  if (indexText === null) {
    const shapes = await files.safetensorsShapes(WEIGHTS_FILE);
    if (shapes === null)
      throw new ModelFileError(
        'RDLAB_CHECKPOINT_MISSING',
        files.where('').replace(/[/\\]$/, ''),
        `has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE}`,
      );
    return shapes;
  }
  const indexPath = files.where(WEIGHTS_INDEX_FILE);
  const weightMap = parseWeightsIndex(indexText, indexPath);
  const headers = new Map<string, ReadonlyMap<string, number[]>>();
  for (const shard of indexShards(weightMap, indexPath)) {
    const shapes = await files.safetensorsShapes(shard);
    if (shapes === null)
      throw new ModelFileError('RDLAB_CHECKPOINT_MISSING', files.where(shard), 'no such file');
    headers.set(shard, shapes);
  }
  // The index decides which shard holds a tensor (a header may list more, as the reader ignores).
  const out = new Map<string, number[]>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    const shape = headers.get(shard)?.get(tensor);
    if (!shape) throw shardLacksTensor(files.where(shard), tensor);
    out.set(tensor, shape);
  }
  return out;
}
