/**
 * Teacher-forced scoring: per-token log-probabilities of continuations given their prefixes,
 * masked and batched, and sequence likelihoods (β̄, π̄) from them.
 */
import { type LikelihoodKind, sequenceLikelihood } from '@rdlab/core';
import type { LanguageModel } from './engine.js';

/**
 * log p(ids[b,t] | ids[b,<t]) where `mask` is 1, 0 elsewhere; `[B, T]`. Runs in chunks of
 * `chunkSize` sequences so a large batch fits in memory.
 */
export function scoreTokens(
  model: LanguageModel,
  ids: Int32Array,
  mask: Float32Array,
  batchSize: number,
  chunkSize = 64,
): Float32Array {
  const T = ids.length / batchSize;
  const out = new Float32Array(ids.length);
  for (let start = 0; start < batchSize; start += chunkSize) {
    const n = Math.min(chunkSize, batchSize - start);
    const logp = model.tokenLogprobs({
      ids: ids.subarray(start * T, (start + n) * T),
      batchSize: n,
      length: T,
    });
    for (let i = 0; i < n * T; i++)
      out[start * T + i] = (mask[start * T + i] as number) ? (logp[i] as number) : 0;
  }
  return out;
}

/** β̄ or π̄ of each sequence: the model's likelihood of its masked tokens. */
export function scoreSequences(
  model: LanguageModel,
  ids: Int32Array,
  mask: Float32Array,
  batchSize: number,
  kind: LikelihoodKind = 'mean',
  chunkSize = 64,
): Float64Array {
  const logprobs = scoreTokens(model, ids, mask, batchSize, chunkSize);
  return sequenceLikelihood({ logprobs, mask, batchSize, length: ids.length / batchSize }, kind);
}
