/**
 * Batched generation from prefixes with a KV cache: temperature, top-k, repetition penalty,
 * end-of-text and padding, seeded. The choice of each token happens here, in JavaScript, on the
 * logits the model returns, so a seed gives the same samples on every backend whose logits agree.
 *
 * Legend: B batch, p prefix length, T total length (prefix included), V vocabulary.
 */
import type { Rng } from '@rdlab/core';
import type { LanguageModel } from './engine.js';

export interface SamplingOptions {
  /** Total tokens per sequence, prefix included (Algorithm 1's T). */
  maxLength: number;
  /** Softmax temperature; 0 decodes greedily. @defaultValue 1 */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 keeps all. @defaultValue 0 */
  topK?: number;
  /** CTRL repetition penalty on every token already in the sequence; 1 is off. @defaultValue 1 */
  repetitionPenalty?: number;
  /** Ends a sequence; later positions are padded with it and masked out. */
  eosId: number;
  rng: Rng;
  /** Use the KV cache (default) or recompute every step (the reference path). @defaultValue true */
  cache?: boolean;
}

export interface Generation {
  /** `[B, T]`: prefix, generated tokens (the end-of-text included), then padding. */
  ids: Int32Array;
  /** `[B, T]`: 1 on generated tokens, 0 on the prefix and padding. */
  mask: Float32Array;
  /**
   * `[B, T]`: log p of each generated token under the model itself (temperature 1, no penalty):
   * the sampler's per-token log β when the model is the behaviour LM. 0 elsewhere.
   */
  tokenLogprobs: Float32Array;
  batchSize: number;
  length: number;
}

/** Continues each `[B, p]` prefix to `maxLength` tokens. */
export function generate(
  model: LanguageModel,
  prefixes: Int32Array,
  batchSize: number,
  options: SamplingOptions,
): Generation {
  const B = batchSize;
  const p = prefixes.length / B;
  const T = options.maxLength;
  const V = model.config.vocab_size;
  const { temperature = 1, topK = 0, repetitionPenalty = 1, eosId, rng } = options;
  if (!Number.isInteger(p) || p < 1)
    throw new RangeError(
      `generate: prefixes must be [B, p] with p ≥ 1, got ${prefixes.length} ids for B = ${B}`,
    );
  if (T <= p) throw new RangeError(`generate: maxLength ${T} must exceed the prefix length ${p}`);
  const ids = new Int32Array(B * T).fill(eosId);
  const mask = new Float32Array(B * T);
  const tokenLogprobs = new Float32Array(B * T);
  for (let b = 0; b < B; b++) ids.set(prefixes.subarray(b * p, (b + 1) * p), b * T);
  const done = new Uint8Array(B);
  const decoder = model.decoder(B, { cache: options.cache !== false });
  const seen =
    repetitionPenalty !== 1
      ? Array.from({ length: B }, (_, b) => new Set(prefixes.subarray(b * p, (b + 1) * p)))
      : null;
  const scratch = new Float64Array(V);
  try {
    let logits = decoder.next(prefixes, p);
    for (let t = p; t < T; t++) {
      const step = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          step[b] = eosId;
          continue;
        }
        const row = logits.subarray(b * V, (b + 1) * V);
        const token = chooseToken(
          row,
          scratch,
          temperature,
          topK,
          repetitionPenalty,
          seen?.[b] ?? null,
          rng,
        );
        step[b] = token;
        ids[b * T + t] = token;
        mask[b * T + t] = 1;
        tokenLogprobs[b * T + t] = logSoftmaxAt(row, token);
        seen?.[b]?.add(token);
        if (token === eosId) done[b] = 1;
      }
      if (t === T - 1 || done.every((d) => d === 1)) break;
      logits = decoder.next(step, 1);
    }
  } finally {
    decoder.dispose();
  }
  return { ids, mask, tokenLogprobs, batchSize: B, length: T };
}

/** log softmax(row)[token], computed stably. */
export function logSoftmaxAt(row: ArrayLike<number>, token: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if ((row[i] as number) > max) max = row[i] as number;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp((row[i] as number) - max);
  return (row[token] as number) - max - Math.log(sum);
}

function chooseToken(
  row: Float32Array,
  scores: Float64Array,
  temperature: number,
  topK: number,
  penalty: number,
  seen: Set<number> | null,
  rng: Rng,
): number {
  const V = row.length;
  for (let i = 0; i < V; i++) scores[i] = row[i] as number;
  if (seen) {
    // CTRL (Keskar et al., 2019) as Hugging Face applies it: shrink the logit towards less likely.
    for (const i of seen)
      scores[i] =
        (scores[i] as number) < 0
          ? (scores[i] as number) * penalty
          : (scores[i] as number) / penalty;
  }
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if ((scores[i] as number) > (scores[best] as number)) best = i;
    return best;
  }
  let cutoff = Number.NEGATIVE_INFINITY;
  if (topK > 0 && topK < V) cutoff = kthLargest(scores, topK);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < V; i++) if ((scores[i] as number) > max) max = scores[i] as number;
  for (let i = 0; i < V; i++) {
    const s = scores[i] as number;
    scores[i] = s >= cutoff ? Math.exp((s - max) / temperature) : 0;
  }
  return rng.categorical(scores);
}

function kthLargest(values: Float64Array, k: number): number {
  return Float64Array.from(values).sort()[values.length - k] as number;
}
