/**
 * The reward classifier on the native CPU engine (native/src/cnn.cc): the same
 * {@link TextClassifier} and parameters as the tfjs one.
 */
import type { ClassifierConfig, Rng } from '@rdlab/core';
import {
  classifierParameterShapes,
  featureDropoutMask,
  prepareClassifierBatch,
} from '../classifier/params.js';
import type { AdamOptions, TextClassifier, TokenBatch } from '../engine.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { loadAddon, type NativeCnnHandle } from './addon.js';
import { NativeParameters } from './flat.js';

export class NativeCnnClassifier extends ParameterOwner implements TextClassifier {
  readonly backend = 'native';
  protected readonly parameters: NativeParameters<NativeCnnHandle>;

  /** `config.maxLength`: what `classify` truncates to. */
  get maxLength(): number {
    return this.config.maxLength;
  }

  constructor(
    readonly config: ClassifierConfig,
    readonly vocabSize: number,
    readonly numClasses: number,
    parameters: TensorMap,
  ) {
    super();
    const { embedDim, filters, kernelSizes } = config;
    this.parameters = new NativeParameters(
      classifierParameterShapes(config, vocabSize, numClasses),
      parameters,
      'classifier',
      (flat) =>
        new (loadAddon().NativeCnn)(
          { vocabSize, embedDim, filters, numClasses, kernelSizes },
          flat,
        ),
    );
  }

  private get handle(): NativeCnnHandle {
    return this.parameters.handle;
  }

  logits(batch: TokenBatch, lengths: Int32Array): Float32Array {
    const p = prepareClassifierBatch(this.config, batch, lengths);
    return this.handle.forward(p.ids, p.lengths, batch.batchSize, p.length, null);
  }

  trainStep(
    batch: TokenBatch,
    lengths: Int32Array,
    labels: Int32Array,
    options: AdamOptions,
    rng: Rng,
  ): { loss: number } {
    const B = batch.batchSize;
    const p = prepareClassifierBatch(this.config, batch, lengths);
    const dropout = featureDropoutMask(this.config, B, rng);
    this.handle.forward(p.ids, p.lengths, B, p.length, dropout);
    const loss = this.handle.backward(labels);
    this.parameters.step += 1;
    const {
      learningRate,
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-8,
      gradientClipNorm = 0,
    } = options;
    this.handle.adamStep(
      learningRate,
      beta1,
      beta2,
      epsilon,
      gradientClipNorm,
      this.parameters.step,
    );
    return { loss };
  }
}
