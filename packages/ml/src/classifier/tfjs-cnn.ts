/**
 * The reward classifier on TensorFlow.js: embeddings → convolutions of widths k (as matmuls
 * over k stacked embeddings, which every backend can differentiate) → ReLU → max over time →
 * dropout → linear.
 *
 * Legend: B batch, T tokens, E embedding width, F filters per width, C classes.
 */
import type { ClassifierConfig, Rng } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import type { AdamOptions, TextClassifier, TokenBatch } from '../engine.js';
import { embeddingLookup, linear, param } from '../gpt2/layers.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { TfjsParameters } from '../tfjs-parameters.js';
import {
  classifierParameterShapes,
  featureDropoutMask,
  prepareClassifierBatch,
  windowMask,
} from './params.js';

export class TfjsCnnClassifier extends ParameterOwner implements TextClassifier {
  readonly backend: string;
  protected readonly parameters: TfjsParameters;

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
    this.backend = tf.getBackend();
    this.parameters = new TfjsParameters(
      classifierParameterShapes(config, vocabSize, numClasses),
      parameters,
      'classifier',
    );
  }

  private forward(
    ids: Int32Array,
    B: number,
    T: number,
    lengths: Int32Array,
    dropout: Float32Array | null,
  ): tf.Tensor2D {
    const { embedDim: E, filters: F, kernelSizes } = this.config;
    const x = tf.reshape(
      embeddingLookup(param(this.parameters.variables, 'embedding.weight'), ids),
      [B, T, E],
    );
    const pooled = kernelSizes.map((k) => {
      const W = T - k + 1;
      const windows = tf.concat(
        Array.from({ length: k }, (_, j) => tf.slice(x, [0, j, 0], [B, W, E])),
        2,
      ); // [B, W, k·E]
      const conv = tf.relu(
        tf.add(
          linear(
            tf.reshape(windows, [B * W, k * E]) as tf.Tensor2D,
            param(this.parameters.variables, `conv.${k}.weight`) as tf.Tensor2D,
          ),
          param(this.parameters.variables, `conv.${k}.bias`),
        ),
      );
      const masked = tf.add(
        tf.reshape(conv, [B, W, F]),
        tf.reshape(tf.tensor2d(windowMask(lengths, T, k), [B, W]), [B, W, 1]),
      );
      return tf.max(masked, 1); // [B, F]
    });
    let features = tf.concat(pooled, 1); // [B, K·F]
    if (dropout)
      features = tf.mul(features, tf.tensor2d(dropout, features.shape as [number, number]));
    return tf.add(
      linear(
        features as tf.Tensor2D,
        param(this.parameters.variables, 'classifier.weight') as tf.Tensor2D,
      ),
      param(this.parameters.variables, 'classifier.bias'),
    ) as tf.Tensor2D;
  }

  logits(batch: TokenBatch, lengths: Int32Array): Float32Array {
    const p = prepareClassifierBatch(this.config, batch, lengths);
    return tf.tidy(
      () =>
        this.forward(p.ids, batch.batchSize, p.length, p.lengths, null).dataSync() as Float32Array,
    );
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
    const names = [...this.parameters.variables.keys()];
    const varList = names.map((n) => this.parameters.variables.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const logits = this.forward(p.ids, B, p.length, p.lengths, dropout);
      return tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses),
        logits,
      ) as tf.Scalar;
    }, varList);
    const loss = value.dataSync()[0] as number;
    value.dispose();
    const gradients = new Map(
      names.map((n, i) => [n, grads[(varList[i] as tf.Variable).name] as tf.Tensor]),
    );
    this.parameters.step(gradients, { gradientClipNorm: 0, ...options });
    return { loss };
  }
}
