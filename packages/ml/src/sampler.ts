/**
 * Batched generation from prefixes with a KV cache: temperature, top-k, repetition penalty,
 * end-of-text and padding, seeded. The choice of each token is defined here, in JavaScript, on the
 * logits the model returns, so a seed gives the same samples on every backend whose logits agree.
 * Engines that choose tokens themselves (`LanguageModel.sample`: native, cuda) make the same
 * choices from the same generator, and are used when present: no `[B, V]` logits cross per token.
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
  /**
   * Let an engine with its own token choice (`LanguageModel.sample`) generate; false chooses in
   * JavaScript on the engine's logits (the reference the engines are tested against).
   * @defaultValue true
   */
  engineChoice?: boolean;
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
  /**
   * `[B, T]`: log p of each generated token under the distribution it was drawn from (repetition
   * penalty, temperature, top-k applied): what Hugging Face's `output_scores` give, and so the β̄
   * of the authors' `prepare_trajectories.py`. Equals `tokenLogprobs` at temperature 1 with no
   * penalty and no top-k. 0 elsewhere.
   */
  samplingLogprobs: Float32Array;
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
  if (model.sample && options.cache !== false && options.engineChoice !== false) {
    const rngState = rng.getState();
    const out = model.sample(prefixes, B, {
      maxLength: T,
      temperature,
      topK,
      repetitionPenalty,
      eosId,
      rngState,
    });
    rng.setState(rngState);
    return { ...out, batchSize: B, length: T };
  }
  const ids = new Int32Array(B * T).fill(eosId);
  const mask = new Float32Array(B * T);
  const tokenLogprobs = new Float32Array(B * T);
  const samplingLogprobs = new Float32Array(B * T);
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
        const { token, logprob, samplingLogprob } = sampleRow(
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
        tokenLogprobs[b * T + t] = logprob;
        samplingLogprobs[b * T + t] = samplingLogprob;
        seen?.[b]?.add(token);
        if (token === eosId) done[b] = 1;
      }
      if (t === T - 1 || done.every((d) => d === 1)) break;
      logits = decoder.next(step, 1);
    }
  } finally {
    decoder.dispose();
  }
  return { ids, mask, tokenLogprobs, samplingLogprobs, batchSize: B, length: T };
}

/**
 * Each row of a generation without its padding: `tokens` (prefix, continuation, end-of-text if
 * drawn), `words` (the same without end-of-text: what a reward model reads) and the continuation's
 * log-probabilities.
 */
export function generatedRows(
  gen: Generation,
  eosId: number,
): Array<{
  tokens: Int32Array;
  words: Int32Array;
  logprobs: Float32Array;
  samplingLogprobs: Float32Array;
}> {
  const { batchSize: B, length: T } = gen;
  return Array.from({ length: B }, (_, b) => {
    let start = 0;
    while (start < T && !gen.mask[b * T + start]) start += 1;
    let end = start;
    while (end < T && gen.mask[b * T + end]) end += 1;
    const tokens = gen.ids.slice(b * T, b * T + end);
    const words =
      tokens[tokens.length - 1] === eosId ? tokens.subarray(0, tokens.length - 1) : tokens;
    return {
      tokens,
      words,
      logprobs: gen.tokenLogprobs.slice(b * T + start, b * T + end),
      samplingLogprobs: gen.samplingLogprobs.slice(b * T + start, b * T + end),
    };
  });
}

/**
 * Chooses one token from a row of logits and returns it with its log-probability under the raw
 * model and under the sampling distribution (greedy: the penalised logits' softmax, as Hugging
 * Face's scores without warpers). The hot loop of sampling: at most two passes of exp over the vocabulary, one when the
 * sampling distribution is the model's own (temperature 1, no penalty, no top-k).
 */
export function sampleRow(
  row: Float32Array,
  scores: Float64Array,
  temperature: number,
  topK: number,
  penalty: number,
  seen: Set<number> | null,
  rng: Rng,
): { token: number; logprob: number; samplingLogprob: number } {
  const V = row.length;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < V; i++) if ((row[i] as number) > max) max = row[i] as number;
  const plain = temperature === 1 && seen === null && !(topK > 0 && topK < V);
  let rawSum = 0;
  if (plain) {
    for (let i = 0; i < V; i++) {
      const e = Math.exp((row[i] as number) - max);
      scores[i] = e;
      rawSum += e;
    }
    const token = draw(scores, V, rawSum, rng);
    const logprob = (row[token] as number) - max - Math.log(rawSum);
    return { token, logprob, samplingLogprob: logprob };
  }
  for (let i = 0; i < V; i++) {
    rawSum += Math.exp((row[i] as number) - max);
    scores[i] = row[i] as number;
  }
  if (seen) {
    // CTRL (Keskar et al., 2019) as Hugging Face applies it: shrink the logit towards less likely.
    for (const i of seen)
      scores[i] =
        (scores[i] as number) < 0
          ? (scores[i] as number) * penalty
          : (scores[i] as number) / penalty;
  }
  let token: number;
  let samplingLogprob: number;
  if (temperature === 0) {
    token = 0;
    for (let i = 1; i < V; i++) if ((scores[i] as number) > (scores[token] as number)) token = i;
    const smax = scores[token] as number;
    let total = 0;
    for (let i = 0; i < V; i++) total += Math.exp((scores[i] as number) - smax);
    samplingLogprob = -Math.log(total);
  } else {
    const cutoff = topK > 0 && topK < V ? kthLargest(scores, V, topK) : Number.NEGATIVE_INFINITY;
    let smax = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < V; i++) if ((scores[i] as number) > smax) smax = scores[i] as number;
    let total = 0;
    for (let i = 0; i < V; i++) {
      const x = scores[i] as number;
      const e = x >= cutoff ? Math.exp((x - smax) / temperature) : 0;
      scores[i] = e;
      total += e;
    }
    token = draw(scores, V, total, rng);
    samplingLogprob = Math.log((scores[token] as number) / total);
  }
  return { token, logprob: (row[token] as number) - max - Math.log(rawSum), samplingLogprob };
}

/** An index drawn in proportion to `weights[0 … V)`, one uniform per draw. */
function draw(weights: Float64Array, V: number, total: number, rng: Rng): number {
  let u = rng.uniform() * total;
  for (let i = 0; i < V; i++) {
    u -= weights[i] as number;
    if (u < 0) return i;
  }
  for (let i = V - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i; // rounding left u a hair above 0
  return V - 1;
}

/** The k-th largest of `values[0 … V)` (quickselect on a copy). */
function kthLargest(values: Float64Array, V: number, k: number): number {
  const a = values.slice(0, V);
  let lo = 0;
  let hi = V - 1;
  const target = V - k;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const tmp = a[i] as number;
        a[i] = a[j] as number;
        a[j] = tmp;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target] as number;
}
