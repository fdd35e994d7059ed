/**
 * Throughput measurements shared by `rdlab bench`, `rdlab doctor` and `npm run bench:ml`.
 * FLOP counts are analytic (matmuls only), so the achieved rate compares with the backend's
 * own matmul rate.
 *
 * Legend: L layers, C width, V vocabulary, T tokens in context.
 */
import { createRng, type Gpt2Config, gpt2ParameterCount } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { activeBackend, activeEngine } from './backend.js';
import { randomLanguageModel } from './models.js';
import { generate } from './sampler.js';

/** Matmul FLOPs of one forward token: the weights (12·L·C² + V·C for the tied head) and attention over T. */
export function forwardFlopsPerToken(config: Gpt2Config, T: number): number {
  const { n_layer: L, n_embd: C, vocab_size: V } = config;
  return 2 * (12 * L * C * C + V * C) + 4 * L * T * C;
}

/** Forward + backward (twice the forward) per token. */
export function trainingFlopsPerToken(config: Gpt2Config, T: number): number {
  return 3 * forwardFlopsPerToken(config, T);
}

/** Square single-precision matmul rate of the active engine, GFLOP/s. */
export function measureMatmulGflops(n = 512, seconds = 1): number {
  return activeEngine().matmulGflops(n, seconds);
}

export interface TrainingBench {
  /** Seconds per phase over the timed steps (engines that profile, RDLAB_NATIVE_PROFILE=1). */
  phases?: Record<string, number>;
  backend: string;
  params: number;
  tokens_per_s: number;
  step_s: number;
  gflops: number;
}

/** One Adam step of a random GPT on random tokens, after a warm-up step; medians of `steps`. */
export function benchTraining(
  config: Gpt2Config,
  batchSize: number,
  length: number,
  steps: number,
): TrainingBench {
  const model = randomLanguageModel(config, 1);
  const rng = createRng(2);
  const ids = Int32Array.from({ length: batchSize * length }, () => rng.int(config.vocab_size));
  const mask = new Float32Array(batchSize * length).fill(1);
  for (let b = 0; b < batchSize; b++) mask[b * length] = 0;
  const ones = new Float64Array(batchSize).fill(1);
  const step = () =>
    model.trainStep({ ids, batchSize, length }, mask, () => ones, { learningRate: 1e-4 });
  step();
  const engine = activeEngine();
  engine.phaseProfile?.(); // the warm-up step does not count
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    step();
    times.push((performance.now() - start) / 1000);
  }
  model.dispose();
  const stepSeconds = median(times);
  const tokens = batchSize * length;
  const phases = engine.phaseProfile?.();
  return {
    ...(phases ? { phases } : {}),
    backend: activeBackend()?.name ?? tf.getBackend(),
    params: gpt2ParameterCount(config),
    tokens_per_s: tokens / stepSeconds,
    step_s: stepSeconds,
    gflops: (tokens * trainingFlopsPerToken(config, length)) / stepSeconds / 1e9,
  };
}

/** Generated tokens per second from `prefixLength`-token prefixes to `length` tokens. */
export function benchSampling(
  config: Gpt2Config,
  batchSize: number,
  prefixLength: number,
  length: number,
  cache: boolean,
  repeats = 2,
): number {
  const model = randomLanguageModel(config, 3);
  const rng = createRng(4);
  const prefixes = Int32Array.from({ length: batchSize * prefixLength }, () =>
    rng.int(config.vocab_size),
  );
  // An end-of-text id outside the vocabulary: every sequence runs to full length.
  const run = () =>
    generate(model, prefixes, batchSize, { maxLength: length, eosId: -1, rng, cache });
  run();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) run();
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  return (repeats * batchSize * (length - prefixLength)) / seconds;
}

/**
 * Model-only decoding rate: the decoder fed `prefixLength` tokens then one at a time to `length`,
 * with no token choice in between (always token 1), so the KV cache's gain is not diluted by the
 * sampler's work on the vocabulary.
 */
export function benchDecoding(
  config: Gpt2Config,
  batchSize: number,
  prefixLength: number,
  length: number,
  cache: boolean,
  repeats = 2,
): number {
  const model = randomLanguageModel(config, 5);
  const prefix = new Int32Array(batchSize * prefixLength).fill(1);
  const next = new Int32Array(batchSize).fill(1);
  const run = () => {
    const decoder = model.decoder(batchSize, { cache });
    decoder.next(prefix, prefixLength);
    for (let t = prefixLength + 1; t < length; t++) decoder.next(next, 1);
    decoder.dispose();
  };
  run();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) run();
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  return (repeats * batchSize * (length - prefixLength)) / seconds;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
