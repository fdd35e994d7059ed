/**
 * GPT-2, OPT and XGLM on the CUDA engine: the same {@link LanguageModel} as the tfjs and native ones, computed
 * on one GPU (cuda/src/gpt2.cu). Parameters, gradients and Adam moments stay on the GPU for the
 * model's life; a training step sends ids and the loss mask, receives the per-token
 * log-probabilities the coefficients need, and sends the coefficients back. Host copies of the
 * weights happen only on request (`getParameters`, checkpoints).
 *
 * Gradients and Adam moments are allocated on the GPU at the first training step; a `frozen`
 * model (β once trained) never allocates them and refuses to train.
 *
 * Precision (`RDLAB_CUDA_PRECISION`): `fp32` (default, the parity setting), `tf32` (fp32 storage,
 * TensorFloat-32 GEMMs) or `bf16` (bf16 activations and GEMM inputs, fp32 master weights, Adam
 * and accumulation).
 */
import type { DecoderConfig } from '@rdlab/core';
import type {
  CoefficientFn,
  EngineGeneration,
  EngineSampling,
  GradientNorms,
  LoadOptions,
  TokenBatch,
} from '../engine.js';
import { engineDecoderConfig, FlatGpt2 } from '../flat-gpt2.js';
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

export class CudaGpt2 extends FlatGpt2<CudaGpt2Handle> {
  readonly backend = 'cuda';

  constructor(
    config: DecoderConfig,
    parameters: TensorMap,
    readonly precision: CudaPrecision = cudaPrecision(),
    options: LoadOptions = {},
  ) {
    // GPT-2, OPT and XGLM: the addon reads the same decoder description as the native one.
    super(
      config,
      parameters,
      (flat) =>
        new (loadCudaAddon().CudaGpt2)(
          engineDecoderConfig(config),
          flat,
          precision,
          options.frozen ?? false,
        ),
      options,
    );
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

  gradientNorms(
    batch: TokenBatch,
    lossMask: Float32Array,
    coefficients: CoefficientFn,
  ): GradientNorms {
    this.refuseFrozen('gradientNorms');
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
}
