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
import type { AdamOptions, OptimizerState, TextClassifier, TokenBatch } from '../engine.js';
import type { TensorMap } from '../safetensors.js';
import { loadAddon, type NativeCnnHandle } from './addon.js';
import { flatten, readAdam, unflatten, writeAdam } from './flat.js';

export class NativeCnnClassifier implements TextClassifier {
  readonly backend = 'native';
  private readonly handle: NativeCnnHandle;
  private readonly shapes: Array<[string, number[]]>;
  private step = 0;

  constructor(
    readonly config: ClassifierConfig,
    readonly vocabSize: number,
    readonly numClasses: number,
    parameters: TensorMap,
  ) {
    this.shapes = classifierParameterShapes(config, vocabSize, numClasses);
    this.handle = new (loadAddon().NativeCnn)(
      {
        vocabSize,
        embedDim: config.embedDim,
        filters: config.filters,
        numClasses,
        kernelSizes: config.kernelSizes,
      },
      flatten(this.shapes, parameters, 'classifier'),
    );
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
    this.step += 1;
    const {
      learningRate,
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-8,
      gradientClipNorm = 0,
    } = options;
    this.handle.adamStep(learningRate, beta1, beta2, epsilon, gradientClipNorm, this.step);
    return { loss };
  }

  getParameters(): TensorMap {
    return unflatten(this.shapes, this.handle.getParams());
  }

  setParameters(parameters: TensorMap): void {
    this.handle.setParams(flatten(this.shapes, parameters, 'classifier'));
  }

  getOptimizerState(): OptimizerState {
    return readAdam(this.handle, this.shapes, this.step);
  }

  setOptimizerState(state: OptimizerState): void {
    writeAdam(this.handle, this.shapes, state);
    this.step = state.step;
  }

  dispose(): void {
    this.handle.dispose();
  }
}
