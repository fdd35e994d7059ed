/**
 * The reward classifier's parameters: a Kim (2014) CNN. Embeddings `[V, E]`, one filter bank
 * per kernel width k stored as a matrix over k stacked embeddings `[k·E, F]`, and a linear
 * layer over the max-pooled features `[K·F, C]`.
 */
import type { ClassifierConfig, Rng } from '@rdlab/core';
import type { TokenBatch } from '../engine.js';
import type { TensorMap } from '../safetensors.js';

export function classifierParameterShapes(
  config: ClassifierConfig,
  vocabSize: number,
  numClasses: number,
): Array<[string, number[]]> {
  const { embedDim: E, filters: F, kernelSizes } = config;
  return [
    ['embedding.weight', [vocabSize, E]],
    ...kernelSizes.flatMap(
      (k): Array<[string, number[]]> => [
        [`conv.${k}.weight`, [k * E, F]],
        [`conv.${k}.bias`, [F]],
      ],
    ),
    ['classifier.weight', [kernelSizes.length * F, numClasses]],
    ['classifier.bias', [numClasses]],
  ];
}

/** Embeddings N(0, 0.1); weights Glorot-uniform; biases 0. */
export function initClassifierParameters(
  config: ClassifierConfig,
  vocabSize: number,
  numClasses: number,
  rng: Rng,
): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, shape] of classifierParameterShapes(config, vocabSize, numClasses)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name === 'embedding.weight')
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.1;
    else if (name.endsWith('.weight')) {
      const limit = Math.sqrt(6 / ((shape[0] as number) + (shape[1] as number)));
      for (let i = 0; i < data.length; i++) data[i] = (rng.uniform() * 2 - 1) * limit;
    }
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * Additive masks for max-pooling over valid windows `[B, W]`: window i of width k is valid when
 * it ends inside the text (i + k ≤ max(length, k)); W = T − k + 1.
 */
export function windowMask(lengths: Int32Array, T: number, k: number): Float32Array {
  const W = T - k + 1;
  const mask = new Float32Array(lengths.length * W);
  for (let b = 0; b < lengths.length; b++) {
    const valid = Math.max(lengths[b] as number, k) - k + 1;
    for (let i = valid; i < W; i++) mask[b * W + i] = -1e9;
  }
  return mask;
}

/** Truncates to `maxLength` and pads to at least the widest kernel (pad id 0, outside every valid window). */
export function prepareClassifierBatch(
  config: ClassifierConfig,
  batch: TokenBatch,
  lengths: Int32Array,
): { ids: Int32Array; length: number; lengths: Int32Array } {
  const { batchSize: B, length: T0 } = batch;
  const T = Math.max(Math.min(T0, config.maxLength), Math.max(...config.kernelSizes));
  const clipped = lengths.map((l) => Math.min(l, T));
  if (T === T0) return { ids: batch.ids, length: T, lengths: clipped };
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) ids.set(batch.ids.subarray(b * T0, b * T0 + Math.min(T, T0)), b * T);
  return { ids, length: T, lengths: clipped };
}

/**
 * The inverted-dropout mask `[B, K·F]` of the pooled features for one training step, drawn from
 * `rng` on the JavaScript side, so a seed gives the same update on every engine.
 */
export function featureDropoutMask(
  config: ClassifierConfig,
  batchSize: number,
  rng: Rng,
): Float32Array | null {
  const rate = config.dropout;
  if (rate <= 0) return null;
  const keep = 1 / (1 - rate);
  return Float32Array.from(
    { length: batchSize * config.kernelSizes.length * config.filters },
    () => (rng.uniform() < rate ? 0 : keep),
  );
}
