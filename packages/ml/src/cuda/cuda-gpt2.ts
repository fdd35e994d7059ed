/**
 * GPT-2 on the CUDA engine: the same {@link LanguageModel} as the tfjs and native ones, computed
 * on one GPU (cuda/src/gpt2.cu). Parameters, gradients and Adam moments stay on the GPU for the
 * model's life; a training step sends ids and the loss mask, receives the per-token
 * log-probabilities the coefficients need, and sends the coefficients back. Host copies of the
 * weights happen only on request (`getParameters`, checkpoints).
 *
 * Precision (`RDLAB_CUDA_PRECISION`): `fp32` (default, the parity setting), `tf32` (fp32 storage,
 * TensorFloat-32 GEMMs) or `bf16` (bf16 activations and GEMM inputs, fp32 master weights, Adam
 * and accumulation).
 */
import type { Gpt2Config } from '@rdlab/core';
import type {
  AdamOptions,
  CoefficientFn,
  Decoder,
  EngineGeneration,
  EngineSampling,
  GradientNorms,
  LanguageModel,
  StepResult,
  TokenBatch,
} from '../engine.js';
import { gpt2ParameterShapes } from '../gpt2/params.js';
import { NativeParameters, unflatten } from '../native/flat.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { type CudaGpt2Handle, loadCudaAddon } from './addon.js';

export const CUDA_PRECISIONS = ['fp32', 'tf32', 'bf16'] as const;
export type CudaPrecision = (typeof CUDA_PRECISIONS)[number];

/** `RDLAB_CUDA_PRECISION`, checked (unset: fp32). */
export function cudaPrecision(
  value: string | undefined = process.env.RDLAB_CUDA_PRECISION,
): CudaPrecision {
  if (value === undefined || value === '') return 'fp32';
  if (!(CUDA_PRECISIONS as readonly string[]).includes(value))
    throw new Error(
      `RDLAB_CUDA_PRECISION='${value}' is not a precision; choose one of ${CUDA_PRECISIONS.join(', ')}`,
    );
  return value as CudaPrecision;
}

export class CudaGpt2 extends ParameterOwner implements LanguageModel {
  readonly backend = 'cuda';
  protected readonly parameters: NativeParameters<CudaGpt2Handle>;
  private trainable: Uint8Array;

  constructor(
    readonly config: Gpt2Config,
    parameters: TensorMap,
    readonly precision: CudaPrecision = cudaPrecision(),
  ) {
    super();
    if (config.n_embd % config.n_head !== 0)
      throw new Error(`GPT-2: n_embd ${config.n_embd} is not divisible by n_head ${config.n_head}`);
    this.parameters = new NativeParameters(
      gpt2ParameterShapes(config),
      parameters,
      'GPT-2',
      (flat) => new (loadCudaAddon().CudaGpt2)(config, flat, precision),
    );
    this.trainable = new Uint8Array(this.shapes.length).fill(1);
  }

  private get handle(): CudaGpt2Handle {
    return this.parameters.handle;
  }

  private get shapes(): Array<[string, number[]]> {
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

  /** KV-cached generation with the token choice on the GPU: only the results cross. */
  sample(prefixes: Int32Array, batchSize: number, options: EngineSampling): EngineGeneration {
    const B = batchSize;
    const p = prefixes.length / B;
    const T = options.maxLength;
    if (!Number.isInteger(p) || p < 1)
      throw new RangeError(
        `sample: prefixes must be [B, p] with p ≥ 1, got ${prefixes.length} ids for B = ${B}`,
      );
    if (T <= p) throw new RangeError(`sample: maxLength ${T} must exceed the prefix length ${p}`);
    if (T - 1 > this.config.n_positions)
      throw new RangeError(
        `sample: maxLength ${T} needs ${T - 1} positions, the model has ${this.config.n_positions}`,
      );
    if (!(options.temperature >= 0))
      throw new RangeError(`sample: temperature must be ≥ 0, got ${options.temperature}`);
    if (!Number.isInteger(options.topK) || options.topK < 0)
      throw new RangeError(`sample: topK must be an integer ≥ 0, got ${options.topK}`);
    if (!(options.repetitionPenalty > 0))
      throw new RangeError(
        `sample: repetitionPenalty must be > 0, got ${options.repetitionPenalty}`,
      );
    if (options.rngState.length !== 4)
      throw new RangeError(`sample: rngState must hold 4 words, got ${options.rngState.length}`);
    return this.handle.sample(
      prefixes,
      B,
      p,
      {
        maxLength: T,
        temperature: options.temperature,
        topK: options.topK,
        repetitionPenalty: options.repetitionPenalty,
        eosId: options.eosId,
      },
      options.rngState,
    );
  }

  /**
   * Loss and gradients by name, without an update: for checks. Only trainable tensors get a
   * gradient on this engine (the others read 0), so train all to compare every one.
   */
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
    const { coef, tokenLogprobs, loss } = this.forwardBackward(batch, lossMask, coefficients);
    return {
      loss,
      gradients: unflatten(this.shapes, this.handle.getGrads()),
      coefficients: coef,
      tokenLogprobs,
    };
  }

  gradientNorms(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): GradientNorms {
    const { coef, tokenLogprobs, loss } = this.forwardBackward(batch, lossMask, coefficients);
    const squares = this.handle.gradSquares();
    const gradientNorms: Record<string, number> = {};
    let total = 0;
    this.shapes.forEach(([name], i) => {
      if (!this.trainable[i]) return;
      gradientNorms[name] = Math.sqrt(squares[i] as number);
      total += squares[i] as number;
    });
    return {
      loss,
      gradientNorms,
      gradientNorm: Math.sqrt(total),
      coefficients: coef,
      tokenLogprobs,
    };
  }

  private forwardBackward(batch: TokenBatch, lossMask: Float32Array, coefficients: CoefficientFn) {
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
