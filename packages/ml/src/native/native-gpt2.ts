/**
 * GPT-2 on the native CPU engine: the same {@link LanguageModel} as the tfjs one, computed by
 * C++ over OpenBLAS and OpenMP (native/src/gpt2.cc), with the token choice in C++ too
 * (native/src/sampler.cc). What it shares with the CUDA engine is in `FlatGpt2`.
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
import { l2ByName } from '../gradient-norms.js';
import type { TensorMap } from '../safetensors.js';
import { loadAddon, type NativeGpt2Handle } from './addon.js';

export class NativeGpt2 extends FlatGpt2<NativeGpt2Handle> {
  readonly backend = 'native';

  constructor(config: DecoderConfig, parameters: TensorMap, options: LoadOptions = {}) {
    super(
      config,
      parameters,
      (flat) =>
        new (loadAddon().NativeGpt2)(engineDecoderConfig(config), flat, options.frozen ?? false),
      options,
    );
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
}
