/**
 * GPT-2 on the native CPU engine: the same {@link LanguageModel} as the tfjs one, computed by
 * C++ over OpenBLAS and OpenMP (native/src/gpt2.cc). Parameters cross as one flat buffer in
 * checkpoint order.
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
import { l2ByName } from '../gradient-norms.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { loadAddon, type NativeGpt2Handle } from './addon.js';
import { NativeParameters, unflatten } from './flat.js';

export class NativeGpt2 extends ParameterOwner implements LanguageModel {
  readonly backend = 'native';
  protected readonly parameters: NativeParameters<NativeGpt2Handle>;
  private trainable: Uint8Array;

  constructor(
    readonly config: Gpt2Config,
    parameters: TensorMap,
  ) {
    super();
    if (config.n_embd % config.n_head !== 0)
      throw new Error(`GPT-2: n_embd ${config.n_embd} is not divisible by n_head ${config.n_head}`);
    this.parameters = new NativeParameters(
      gpt2ParameterShapes(config),
      parameters,
      'GPT-2',
      (flat) => new (loadAddon().NativeGpt2)(config, flat),
    );
    this.trainable = new Uint8Array(this.shapes.length).fill(1);
  }

  private get handle(): NativeGpt2Handle {
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
        const logits = handle.decoderNext(id, ids, n);
        this.position += n;
        return logits;
      },
      dispose() {
        handle.decoderFree(id);
      },
    } satisfies Decoder & { position: number };
  }

  sample(prefixes: Int32Array, batchSize: number, options: EngineSampling): EngineGeneration {
    const [ids, mask, tokenLogprobs, samplingLogprobs] = this.handle.sample(
      prefixes,
      batchSize,
      options,
      options.rngState,
    );
    return { ids, mask, tokenLogprobs, samplingLogprobs };
  }

  /** Loss and gradients by name (all parameters), without an update: for checks. */
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
    const {
      loss,
      gradients,
      coefficients: coef,
      tokenLogprobs,
    } = this.lossAndGradients(batch, lossMask, coefficients);
    const trainable = new Set(this.shapes.filter((_, i) => this.trainable[i]).map(([n]) => n));
    return {
      loss,
      ...l2ByName([...gradients].filter(([name]) => trainable.has(name))),
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
    const loss = this.handle.backward(Float32Array.from(coef));
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
