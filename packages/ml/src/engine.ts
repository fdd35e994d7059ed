/**
 * What rdlab asks of a language model, whatever computes it: TensorFlow.js (any of its backends),
 * the native CPU engine or the CUDA engine. Samplers, scorers and trainers are written against
 * this interface, so the same code runs on every backend and the engines are checked against
 * each other. An {@link Engine} is what each engine's loader returns.
 *
 * Legend: B batch, T sequence length (prefix included), V vocabulary.
 * Arrays are row-major: a `[B, T]` batch is `ids[b * T + t]`.
 */
import type { ClassifierConfig, DecoderConfig } from '@rdlab/core';
import type { BertConfig } from './bert/config.js';
import type { TensorMap } from './safetensors.js';

/** Token ids `[B, T]`. */
export interface TokenBatch {
  ids: Int32Array;
  batchSize: number;
  length: number;
}

/**
 * The per-sample coefficient of a step's loss, computed from the step's own per-token
 * log-probabilities (treated as constants): loss = mean_b(c_b · CE_b). Pretraining returns 1s;
 * the reward-dropout update returns w_b · m_b · kept_b (see `@rdlab/core` `lossCoefficients`).
 */
export type CoefficientFn = (
  tokenLogprobs: Float32Array,
  lossMask: Float32Array,
) => ArrayLike<number>;

export interface AdamOptions {
  learningRate: number;
  /** @defaultValue 0.9 */
  beta1?: number;
  /** @defaultValue 0.999 */
  beta2?: number;
  /** @defaultValue 1e-8 */
  epsilon?: number;
  /** Global gradient-norm clip; 0 is off (the authors' code clips nothing). @defaultValue 0 */
  gradientClipNorm?: number;
}

export interface StepResult {
  /** mean_b(c_b · CE_b) before the update. */
  loss: number;
  /** Global gradient norm before clipping. */
  gradientNorm: number;
  /** The coefficients the loss used. */
  coefficients: Float64Array;
  /** log p of each target token `[B, T]` before the update (0 at t = 0). */
  tokenLogprobs: Float32Array;
}

/** What {@link LanguageModel.gradientNorms} returns. */
export interface GradientNorms {
  loss: number;
  /** L2 of each parameter's gradient (a tied embedding's covers both of its uses). */
  gradientNorms: Record<string, number>;
  /** L2 of all of them together: {@link StepResult.gradientNorm}. */
  gradientNorm: number;
  coefficients: Float64Array;
  tokenLogprobs: Float32Array;
}

/** KV-cached (or recomputing) incremental decoding of B sequences. */
export interface Decoder {
  /** Tokens fed so far per sequence. */
  readonly position: number;
  /** Feeds `[B, n]` new tokens; returns the logits of the last one, `[B, V]`. */
  next(ids: Int32Array, n: number): Float32Array;
  dispose(): void;
}

/**
 * Token choice inside an engine (what {@link LanguageModel.sample} takes): the settings of
 * `generate` in sampler.ts, with the generator passed as its xoshiro128** state.
 */
export interface EngineSampling {
  /** Total tokens per sequence, prefix included. */
  maxLength: number;
  /** 0 decodes greedily (no draw). */
  temperature: number;
  /** 0 keeps every token. */
  topK: number;
  /** 1 is off. */
  repetitionPenalty: number;
  /** Ends a sequence; −1 never ends one. */
  eosId: number;
  /**
   * `Rng.getState()` before the first draw; overwritten with the state after the last, so the
   * caller's generator goes on exactly as if sampler.ts had drawn. One `uniform()` per sampled
   * token, in order t, then b, skipping finished rows; none when greedy.
   */
  rngState: Uint32Array;
}

/** What {@link LanguageModel.sample} returns: the arrays of sampler.ts's `Generation`. */
export interface EngineGeneration {
  ids: Int32Array;
  mask: Float32Array;
  tokenLogprobs: Float32Array;
  samplingLogprobs: Float32Array;
}

/** Adam state by parameter name, for checkpoints. */
export interface OptimizerState {
  step: number;
  m: TensorMap;
  v: TensorMap;
}

export interface LanguageModel {
  /** GPT-2, OPT or XGLM (`config.family`; absent: GPT-2). */
  readonly config: DecoderConfig;
  /** The backend that computes it: `wasm`, `cpu`, `tensorflow`, `tensorflow-gpu`, `native`. */
  readonly backend: string;
  /**
   * Loaded for sampling and scoring only (β once trained): no gradient or Adam buffers are ever
   * allocated, and `trainStep`, `gradientNorms` and `setOptimizerState` throw. Absent: trainable.
   */
  readonly frozen?: boolean;
  /** Logits at every position `[B, T, V]`: for parity checks, not for hot loops. */
  logits(batch: TokenBatch): Float32Array;
  /** log p(ids[b,t] | ids[b,<t]) `[B, T]`; entry t = 0 is 0. Teacher-forced, batched. */
  tokenLogprobs(batch: TokenBatch): Float32Array;
  /** Incremental decoding; `cache: false` recomputes the whole sequence at each step. */
  decoder(batchSize: number, options?: { cache?: boolean }): Decoder;
  /**
   * Optional: KV-cached generation with the token choice in the engine (no `[B, V]` logits
   * cross per token). Must give the tokens sampler.ts's `sampleRow` would choose from the same
   * logits and generator state; `generate` uses it when present.
   */
  sample?(prefixes: Int32Array, batchSize: number, options: EngineSampling): EngineGeneration;
  /**
   * One Adam step on loss = mean_b(c_b · CE_b), CE_b the mean of −log p over positions where
   * `lossMask [B, T]` is 1. Only `trainable` parameters move (all by default).
   */
  trainStep(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
    options: AdamOptions,
  ): StepResult;
  /**
   * The loss of {@link trainStep} and the L2 norm of each trainable parameter's gradient, by
   * Hugging Face name, without an update: for checking a step against a reference.
   */
  gradientNorms(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): GradientNorms;
  /** Restricts training to these parameter names (e.g. the last block); null trains all. */
  setTrainable(names: readonly string[] | null): void;
  /** Copies of the parameters, by Hugging Face name. */
  getParameters(): TensorMap;
  setParameters(parameters: TensorMap): void;
  getOptimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  dispose(): void;
}

/**
 * What every reward model R offers, whatever its architecture (the CNN, BERT): class logits of
 * right-padded token ids and a supervised Adam step. R's signals are the authors': the target
 * class's raw logit is r, its softmax probability the reported Reward.
 */
export interface RewardClassifier {
  readonly vocabSize: number;
  readonly numClasses: number;
  readonly backend: string;
  /** Longest input in tokens; `classify` and `trainClassifier` truncate to it. */
  readonly maxLength: number;
  /**
   * Class logits `[B, C]` for `[B, T]` ids right-padded, `lengths [B]` real tokens each
   * (longer than {@link maxLength} are truncated).
   */
  logits(batch: TokenBatch, lengths: Int32Array): Float32Array;
  /** One Adam step on mean cross-entropy; dropout masks come from `rng`. */
  trainStep(
    batch: TokenBatch,
    lengths: Int32Array,
    labels: Int32Array,
    options: AdamOptions,
    rng: import('@rdlab/core').Rng,
  ): { loss: number };
  getParameters(): TensorMap;
  setParameters(parameters: TensorMap): void;
  getOptimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  dispose(): void;
}

/** A reward model R: the Kim (2014) CNN over token ids. */
export interface TextClassifier extends RewardClassifier {
  readonly config: ClassifierConfig;
}

/**
 * A reward model R: transformers' BertForSequenceClassification (`bert/`). Parameters are named
 * as the Hugging Face checkpoint names them (`bert.encoder.layer.0.attention.self.query.weight`).
 */
export interface BertClassifier extends RewardClassifier {
  readonly config: BertConfig;
  /** Loaded for scoring only: no gradients or Adam state are kept and `trainStep` throws. */
  readonly frozen: boolean;
}

/**
 * What an engine's loader returns (`loadTfjsEngine`, `loadNativeEngine`, `loadCudaEngine`) and
 * backend.ts holds for the active backend: the factories and measurements that differ by engine.
 */
/** How a model is loaded: `frozen` keeps no training state (see {@link LanguageModel.frozen}). */
export interface LoadOptions {
  frozen?: boolean;
}

/** The error every frozen model throws when asked to train. */
export function frozenError(what: string, method: string): Error {
  return new Error(
    `${method}: the ${what} was loaded frozen (sampling and scoring only): it keeps no gradients or Adam state`,
  );
}

export interface Engine {
  languageModel(config: DecoderConfig, parameters: TensorMap, options?: LoadOptions): LanguageModel;
  classifier(
    config: ClassifierConfig,
    vocabSize: number,
    numClasses: number,
    parameters: TensorMap,
  ): TextClassifier;
  /**
   * A BERT sequence classifier (the reward model of the authors' code); engines without one
   * leave it out and backend.ts lends them another's.
   */
  sequenceClassifier?(
    config: BertConfig,
    parameters: TensorMap,
    options?: { frozen?: boolean },
  ): BertClassifier;
  /** Square single-precision matmul rate, GFLOP/s, over about `seconds`. */
  matmulGflops(n: number, seconds: number): number;
  /** Seconds per phase since the last call (read-and-reset); engines that time their phases. */
  phaseProfile?(): Record<string, number>;
}
