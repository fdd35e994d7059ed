/**
 * What the native (C++) and CUDA engines share on the TypeScript side: a GPT-2 whose weights,
 * gradients and Adam moments live behind an addon handle, in one flat buffer in checkpoint order
 * (`gpt2ParameterShapes`, Hugging Face names). The handle computes; this class checks shapes,
 * calls the per-sample coefficients between forward and backward, counts Adam steps and keeps the
 * trainable mask. Engines add their token choice (`sample`) and gradient norms.
 */
import { type DecoderConfig, decoderSpec } from '@rdlab/core';
import type {
  AdamOptions,
  CoefficientFn,
  Decoder,
  EngineGeneration,
  EngineSampling,
  GradientNorms,
  LanguageModel,
  LoadOptions,
  OptimizerState,
  StepResult,
  TokenBatch,
} from './engine.js';
import { frozenError } from './engine.js';
import { gpt2ParameterShapes } from './gpt2/params.js';
import { NativeParameters, type ParameterHandle, unflatten } from './native/flat.js';
import { ParameterOwner } from './parameter-owner.js';
import type { TensorMap } from './safetensors.js';

export interface FlatGpt2Handle extends ParameterHandle {
  logits(ids: Int32Array, B: number, T: number): Float32Array;
  lastLogits(ids: Int32Array, B: number, T: number): Float32Array;
  forward(ids: Int32Array, mask: Float32Array, B: number, T: number): Float32Array;
  /** Gradients of loss = mean_b(c_b · CE_b) after `forward`; returns the loss. */
  backward(coefficients: Float32Array, trainable: Uint8Array): number;
  adamStep(
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    clip: number,
    step: number,
    trainable: Uint8Array,
  ): number;
  getGrads(): Float32Array;
  /** Bytes of gradient and Adam buffers held (0 until the first backward, and always when frozen). */
  trainingStateBytes(): number;
  decoderNew(B: number): number;
  decoderNext(handle: number, ids: Int32Array, n: number, B: number): Float32Array;
  decoderFree(handle: number): void;
}

/**
 * The decoder description as the native addon reads it (addon.cc): GPT-2 leaves every field at
 * its default, so a GPT-2 runs exactly the code it ran before; OPT and XGLM keep torch Linear
 * weights [out, in] with q, k and v apart, in their checkpoints' order.
 */
export function engineDecoderConfig(config: DecoderConfig): Record<string, number> {
  const s = decoderSpec(config);
  const engine: Record<string, number> = {
    vocab_size: s.vocab_size,
    n_positions: s.n_positions,
    n_embd: s.n_embd,
    n_layer: s.n_layer,
    n_head: s.n_head,
    layer_norm_epsilon: s.layer_norm_epsilon,
  };
  if (s.family === 'gpt2') return engine;
  return {
    ...engine,
    ffn_dim: s.ffn_dim,
    separate_qkv: 1,
    sinusoidal: s.position_kind === 'sinusoidal' ? 1 : 0,
    position_offset: s.position_offset,
    embed_scale: s.embed_scale,
    activation: { gelu_new: 0, gelu: 1, relu: 2 }[s.activation],
  };
}

export abstract class FlatGpt2<H extends FlatGpt2Handle>
  extends ParameterOwner
  implements LanguageModel
{
  abstract readonly backend: string;
  protected readonly parameters: NativeParameters<H>;
  protected trainable: Uint8Array;
  readonly frozen: boolean;

  constructor(
    readonly config: DecoderConfig,
    parameters: TensorMap,
    open: (flat: Float32Array) => H,
    options: LoadOptions = {},
  ) {
    super();
    this.frozen = options.frozen ?? false;
    if (config.n_embd % config.n_head !== 0)
      throw new Error(`GPT-2: n_embd ${config.n_embd} is not divisible by n_head ${config.n_head}`);
    const what = config.family && config.family !== 'gpt2' ? config.family.toUpperCase() : 'GPT-2';
    this.parameters = new NativeParameters(gpt2ParameterShapes(config), parameters, what, open);
    this.trainable = new Uint8Array(this.shapes.length).fill(1);
  }

  abstract sample(
    prefixes: Int32Array,
    batchSize: number,
    options: EngineSampling,
  ): EngineGeneration;

  abstract gradientNorms(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): GradientNorms;

  protected get handle(): H {
    return this.parameters.handle;
  }

  /** Bytes of gradient and Adam buffers the engine holds (0 for a frozen or untrained model). */
  trainingStateBytes(): number {
    return this.handle.trainingStateBytes();
  }

  protected refuseFrozen(method: string): void {
    if (this.frozen) throw frozenError('language model', method);
  }

  override setOptimizerState(state: OptimizerState): void {
    this.refuseFrozen('setOptimizerState');
    super.setOptimizerState(state);
  }

  protected get shapes(): Array<[string, number[]]> {
    return this.parameters.shapes;
  }

  logits(batch: TokenBatch): Float32Array {
    return this.handle.logits(batch.ids, batch.batchSize, batch.length);
  }

  tokenLogprobs(batch: TokenBatch): Float32Array {
    const mask = new Float32Array(batch.ids.length).fill(1);
    return this.handle.forward(batch.ids, mask, batch.batchSize, batch.length);
  }

  decoder(batchSize: number, options: { cache?: boolean } = {}): Decoder {
    const handle = this.handle;
    if (options.cache === false) {
      // The reference path: the whole sequence again at every step.
      const rows: number[][] = Array.from({ length: batchSize }, () => []);
      return {
        position: 0,
        next(ids, n) {
          for (let b = 0; b < batchSize; b++)
            for (let i = 0; i < n; i++) rows[b]?.push(ids[b * n + i] as number);
          this.position += n;
          const all = new Int32Array(batchSize * this.position);
          rows.forEach((row, b) => {
            all.set(row, b * this.position);
          });
          return handle.lastLogits(all, batchSize, this.position);
        },
        dispose() {},
      } satisfies Decoder & { position: number };
    }
    const id = handle.decoderNew(batchSize);
    return {
      position: 0,
      next(ids, n) {
        const logits = handle.decoderNext(id, ids, n, batchSize);
        this.position += n;
        return logits;
      },
      dispose() {
        handle.decoderFree(id);
      },
    } satisfies Decoder & { position: number };
  }

  /** Loss and gradients by name (frozen tensors' may read 0), without an update: for checks. */
  lossAndGradients(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): {
    loss: number;
    gradients: TensorMap;
    coefficients: Float64Array;
    tokenLogprobs: Float32Array;
  } {
    this.refuseFrozen('gradientNorms');
    const { coef, tokenLogprobs, loss } = this.forwardBackward(batch, lossMask, coefficients);
    return {
      loss,
      gradients: unflatten(this.shapes, this.handle.getGrads()),
      coefficients: coef,
      tokenLogprobs,
    };
  }

  protected forwardBackward(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ) {
    this.refuseFrozen('trainStep');
    const { batchSize: B, length: T } = batch;
    if (lossMask.length !== B * T)
      throw new RangeError(`trainStep: lossMask has ${lossMask.length} entries, expected ${B * T}`);
    const tokenLogprobs = this.handle.forward(batch.ids, lossMask, B, T);
    const coef = Float64Array.from(coefficients(tokenLogprobs, lossMask));
    if (coef.length !== B)
      throw new RangeError(`trainStep: ${coef.length} coefficients for a batch of ${B}`);
    const loss = this.handle.backward(Float32Array.from(coef), this.trainable);
    return { coef, tokenLogprobs, loss };
  }

  trainStep(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
    options: AdamOptions,
  ): StepResult {
    const { coef, tokenLogprobs, loss } = this.forwardBackward(batch, lossMask, coefficients);
    this.parameters.step += 1;
    const {
      learningRate,
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-8,
      gradientClipNorm = 0,
    } = options;
    const gradientNorm = this.handle.adamStep(
      learningRate,
      beta1,
      beta2,
      epsilon,
      gradientClipNorm,
      this.parameters.step,
      this.trainable,
    );
    return { loss, gradientNorm, coefficients: coef, tokenLogprobs };
  }

  setTrainable(names: readonly string[] | null): void {
    const index = new Map(this.shapes.map(([name], i) => [name, i]));
    if (names)
      for (const n of names) if (!index.has(n)) throw new Error(`setTrainable: no parameter ${n}`);
    this.trainable = Uint8Array.from(this.shapes, ([name]) =>
      names === null || names.includes(name) ? 1 : 0,
    );
  }
}
