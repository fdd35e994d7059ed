/**
 * GPT-2 on TensorFlow.js: Hugging Face semantics (pre-LayerNorm blocks, learned positions, tanh
 * GELU, tied embeddings), parameters named by their checkpoint keys.
 *
 * Legend: B batch, T positions, C n_embd, V vocabulary.
 */
import { type DecoderConfig, type DecoderSpec, decoderSpec } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import type {
  AdamOptions,
  CoefficientFn,
  Decoder,
  GradientNorms,
  LanguageModel,
  LoadOptions,
  OptimizerState,
  StepResult,
  TokenBatch,
} from '../engine.js';
import { frozenError } from '../engine.js';
import { l2ByName } from '../gradient-norms.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { TfjsParameters } from '../tfjs-parameters.js';
import {
  type BlockLayout,
  block,
  embeddingLookup,
  gpt2BlockLayout,
  type LayerCache,
  layerNorm,
  linear,
  param,
  targetLogprobs,
} from './layers.js';
import { decoderPrefix, gpt2ParameterShapes, sinusoidalPositions } from './params.js';

/** Where a family keeps its embeddings, final LayerNorm and blocks (see BlockLayout). */
interface DecoderLayout {
  tokens: string;
  positions: string | null;
  finalNorm: string;
  blocks: BlockLayout[];
}

function decoderLayout(s: DecoderSpec): DecoderLayout {
  if (s.family === 'gpt2')
    return {
      tokens: 'wte.weight',
      positions: 'wpe.weight',
      finalNorm: 'ln_f',
      blocks: Array.from({ length: s.n_layer }, (_, l) => gpt2BlockLayout(l)),
    };
  const pre = decoderPrefix(s);
  return {
    tokens: `${pre}embed_tokens.weight`,
    positions: s.position_kind === 'learned' ? `${pre}embed_positions.weight` : null,
    finalNorm: `${pre}${s.family === 'opt' ? 'final_layer_norm' : 'layer_norm'}`,
    blocks: Array.from({ length: s.n_layer }, (_, l) => {
      const h = `${pre}layers.${l}`;
      return {
        ln1: `${h}.self_attn_layer_norm`,
        ln2: `${h}.final_layer_norm`,
        qkv: [`${h}.self_attn.q_proj`, `${h}.self_attn.k_proj`, `${h}.self_attn.v_proj`],
        out: `${h}.self_attn.out_proj`,
        fc: `${h}.fc1`,
        proj: `${h}.fc2`,
        transposed: true,
        activation: s.activation,
      };
    }),
  };
}

export class TfjsGpt2 extends ParameterOwner implements LanguageModel {
  readonly config: DecoderConfig;
  readonly backend: string;
  /** Sampling and scoring only: training throws (tfjs keeps no Adam state before a step anyway). */
  readonly frozen: boolean;
  protected readonly parameters: TfjsParameters;
  private trainable: readonly string[] | null = null;
  private readonly spec: DecoderSpec;
  private readonly layout: DecoderLayout;
  /** XGLM's sinusoids `[P + offset, C]`, a constant (no gradient). */
  private readonly sinusoids: Float32Array | null;

  constructor(config: DecoderConfig, parameters: TensorMap, options: LoadOptions = {}) {
    super();
    this.frozen = options.frozen ?? false;
    if (config.n_embd % config.n_head !== 0)
      throw new Error(`GPT-2: n_embd ${config.n_embd} is not divisible by n_head ${config.n_head}`);
    this.config = config;
    this.spec = decoderSpec(config);
    this.layout = decoderLayout(this.spec);
    this.sinusoids =
      this.spec.position_kind === 'sinusoidal'
        ? sinusoidalPositions(config.n_positions + this.spec.position_offset, config.n_embd)
        : null;
    this.backend = tf.getBackend();
    const what = this.spec.family === 'gpt2' ? 'GPT-2' : this.spec.family.toUpperCase();
    this.parameters = new TfjsParameters(gpt2ParameterShapes(config), parameters, what);
  }

  /** Final hidden states `[B, T, C]` and the updated caches. */
  private hidden(
    ids: Int32Array,
    B: number,
    T: number,
    past: LayerCache[] | null,
  ): { x: tf.Tensor3D; caches: LayerCache[] } {
    const {
      n_embd: C,
      n_head: H,
      n_layer: L,
      n_positions: P,
      layer_norm_epsilon: eps,
    } = this.config;
    const offset = past?.[0] ? (past[0].k.shape[2] as number) : 0;
    if (offset + T > P)
      throw new RangeError(`GPT-2: ${offset + T} positions exceed n_positions = ${P}`);
    const { layout, spec } = this;
    // OPT and XGLM read position t from row t + 2 (modeling_opt.py's OPTLearnedPositionalEmbedding,
    // modeling_xglm.py's XGLMSinusoidalPositionalEmbedding).
    const positions = new Int32Array(B * T);
    for (let i = 0; i < positions.length; i++)
      positions[i] = spec.position_offset + offset + (i % T);
    let tok = embeddingLookup(param(this.parameters.variables, layout.tokens), ids); // [B*T, C]
    // XGLM: inputs_embeds = embed_tokens(ids) · √d_model; the tied head uses the table unscaled.
    if (spec.embed_scale !== 1) tok = tf.mul(tok, spec.embed_scale);
    const pos = layout.positions
      ? embeddingLookup(param(this.parameters.variables, layout.positions), positions)
      : tf.gather(
          tf.tensor2d(this.sinusoids as Float32Array, [P + spec.position_offset, C]),
          tf.tensor1d(positions, 'int32'),
        );
    let x = tf.reshape(tf.add(tok, pos), [B, T, C]) as tf.Tensor3D;
    const caches: LayerCache[] = [];
    for (let l = 0; l < L; l++) {
      const layer = layout.blocks[l] as BlockLayout;
      const out = block(x, this.parameters.variables, layer, H, eps, past?.[l] ?? null);
      x = out.x;
      caches.push(out.cache);
    }
    return {
      x: layerNorm(
        x,
        param(this.parameters.variables, `${layout.finalNorm}.weight`),
        param(this.parameters.variables, `${layout.finalNorm}.bias`),
        eps,
      ) as tf.Tensor3D,
      caches,
    };
  }

  /** Hidden `[N, C]` → logits `[N, V]` through the tied embedding. */
  private head(h: tf.Tensor2D): tf.Tensor2D {
    // An explicit transpose, not matMul's transposeB: the wasm backend's transposed-B matmul ran
    // at a seventh of its plain rate on [64, 128] × [4096, 128]ᵀ (58 ms of a 70 ms decode step).
    return linear(
      h,
      tf.transpose(param(this.parameters.variables, this.layout.tokens)) as tf.Tensor2D,
    );
  }

  logits(batch: TokenBatch): Float32Array {
    const { batchSize: B, length: T } = batch;
    return tf.tidy(
      () =>
        this.head(
          tf.reshape(this.hidden(batch.ids, B, T, null).x, [
            B * T,
            this.config.n_embd,
          ]) as tf.Tensor2D,
        ).dataSync() as Float32Array,
    );
  }

  /** log p of each token given the ones before it, `[B, T]` with 0 at t = 0, as a tensor. */
  private tokenLogprobsTensor(batch: TokenBatch): tf.Tensor2D {
    const { ids, batchSize: B, length: T } = batch;
    const C = this.config.n_embd;
    if (T < 2) return tf.zeros([B, T]);
    const h = this.hidden(ids, B, T, null).x;
    // Positions 0 … T−2 predict tokens 1 … T−1: only they go through the vocabulary projection.
    const predictors = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, C]), [
      B * (T - 1),
      C,
    ]) as tf.Tensor2D;
    const targets = new Int32Array(B * (T - 1));
    for (let b = 0; b < B; b++)
      for (let t = 1; t < T; t++) targets[b * (T - 1) + t - 1] = ids[b * T + t] as number;
    const logp = tf.reshape(targetLogprobs(this.head(predictors), targets), [B, T - 1]);
    return tf.concat([tf.zeros([B, 1]), logp], 1) as tf.Tensor2D;
  }

  tokenLogprobs(batch: TokenBatch): Float32Array {
    return tf.tidy(() => this.tokenLogprobsTensor(batch).dataSync() as Float32Array);
  }

  decoder(batchSize: number, options: { cache?: boolean } = {}): Decoder {
    return options.cache === false
      ? new RecomputingDecoder(this, batchSize)
      : new CachedDecoder(this, batchSize);
  }

  /** @internal One decoding step: last-position logits `[B, V]` and the new caches (kept). */
  decodeStep(
    ids: Int32Array,
    B: number,
    n: number,
    past: LayerCache[] | null,
  ): { logits: Float32Array; caches: LayerCache[] } {
    let caches: LayerCache[] = [];
    const logits = tf.tidy(() => {
      const out = this.hidden(ids, B, n, past);
      caches = out.caches.map((c) => ({ k: tf.keep(c.k), v: tf.keep(c.v) }));
      const last = tf.reshape(tf.slice(out.x, [0, n - 1, 0], [B, 1, this.config.n_embd]), [
        B,
        this.config.n_embd,
      ]) as tf.Tensor2D;
      return this.head(last).dataSync() as Float32Array;
    });
    return { logits, caches };
  }

  /** Loss mean_b(c_b · CE_b) and its gradients by parameter name (trainable ones only). */
  lossAndGradients(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): {
    loss: number;
    gradients: Map<string, tf.Tensor>;
    coefficients: Float64Array;
    tokenLogprobs: Float32Array;
  } {
    if (this.frozen) throw frozenError('language model', 'trainStep');
    const { batchSize: B, length: T } = batch;
    if (lossMask.length !== B * T)
      throw new RangeError(`trainStep: lossMask has ${lossMask.length} entries, expected ${B * T}`);
    let coef = new Float64Array(B);
    let logprobs: Float32Array = new Float32Array(B * T);
    const names = this.trainable ?? [...this.parameters.variables.keys()];
    const varList = names.map((n) => this.parameters.variables.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const logp = this.tokenLogprobsTensor(batch);
      logprobs = logp.dataSync() as Float32Array; // constants of the step: no gradient flows through c_b
      coef = Float64Array.from(coefficients(logprobs, lossMask));
      if (coef.length !== B)
        throw new RangeError(`trainStep: ${coef.length} coefficients for a batch of ${B}`);
      const mask = tf.tensor2d(lossMask, [B, T]);
      const tokens = tf.maximum(tf.sum(mask, 1), 1);
      const ce = tf.div(tf.neg(tf.sum(tf.mul(logp, mask), 1)), tokens); // [B]
      return tf.mean(tf.mul(ce, tf.tensor1d(Float32Array.from(coef)))) as tf.Scalar;
    }, varList);
    const loss = value.dataSync()[0] as number;
    value.dispose();
    const gradients = new Map<string, tf.Tensor>();
    names.forEach((name, i) => {
      gradients.set(name, grads[(varList[i] as tf.Variable).name] as tf.Tensor);
    });
    return { loss, gradients, coefficients: coef, tokenLogprobs: logprobs };
  }

  gradientNorms(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): GradientNorms {
    const {
      loss,
      gradients,
      coefficients: coef,
      tokenLogprobs,
    } = this.lossAndGradients(batch, lossMask, coefficients);
    const squares = [...gradients].map(([name, g]): [string, { data: ArrayLike<number> }] => {
      const data = g.dataSync() as Float32Array;
      g.dispose();
      return [name, { data }];
    });
    return { loss, ...l2ByName(squares), coefficients: coef, tokenLogprobs };
  }

  trainStep(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
    options: AdamOptions,
  ): StepResult {
    const {
      loss,
      gradients,
      coefficients: coef,
      tokenLogprobs,
    } = this.lossAndGradients(batch, lossMask, coefficients);
    const gradientNorm = this.parameters.step(gradients, options);
    return { loss, gradientNorm, coefficients: coef, tokenLogprobs };
  }

  override setOptimizerState(state: OptimizerState): void {
    if (this.frozen) throw frozenError('language model', 'setOptimizerState');
    super.setOptimizerState(state);
  }

  setTrainable(names: readonly string[] | null): void {
    if (names)
      for (const n of names)
        if (!this.parameters.variables.has(n)) throw new Error(`setTrainable: no parameter ${n}`);
    this.trainable = names;
  }
}

class CachedDecoder implements Decoder {
  private caches: LayerCache[] | null = null;
  position = 0;

  constructor(
    private readonly model: TfjsGpt2,
    private readonly batchSize: number,
  ) {}

  next(ids: Int32Array, n: number): Float32Array {
    const { logits, caches } = this.model.decodeStep(ids, this.batchSize, n, this.caches);
    this.release();
    this.caches = caches;
    this.position += n;
    return logits;
  }

  private release(): void {
    for (const c of this.caches ?? []) {
      c.k.dispose();
      c.v.dispose();
    }
    this.caches = null;
  }

  dispose(): void {
    this.release();
  }
}

/** The reference path: every step recomputes the whole sequence. */
class RecomputingDecoder implements Decoder {
  private tokens: number[][];
  position = 0;

  constructor(
    private readonly model: TfjsGpt2,
    private readonly batchSize: number,
  ) {
    this.tokens = Array.from({ length: batchSize }, () => []);
  }

  next(ids: Int32Array, n: number): Float32Array {
    for (let b = 0; b < this.batchSize; b++)
      for (let i = 0; i < n; i++) this.tokens[b]?.push(ids[b * n + i] as number);
    this.position += n;
    const T = this.position;
    const all = new Int32Array(this.batchSize * T);
    this.tokens.forEach((row, b) => {
      all.set(row, b * T);
    });
    const { logits, caches } = this.model.decodeStep(all, this.batchSize, T, null);
    for (const c of caches) {
      c.k.dispose();
      c.v.dispose();
    }
    return logits;
  }

  dispose(): void {
    this.tokens = [];
  }
}
