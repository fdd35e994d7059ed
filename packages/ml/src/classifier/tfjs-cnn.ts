/**
 * The reward classifier on TensorFlow.js: embeddings → convolutions of widths k (as matmuls
 * over k stacked embeddings, which every backend can differentiate) → ReLU → max over time →
 * dropout → linear.
 *
 * Legend: B batch, T tokens, E embedding width, F filters per width, C classes.
 */
import type { ClassifierConfig, Rng } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import type { AdamOptions, OptimizerState, TextClassifier, TokenBatch } from '../engine.js';
import { embeddingLookup, param } from '../gpt2/layers.js';
import type { TensorMap } from '../safetensors.js';
import { TfjsAdam } from '../tfjs-adam.js';
import { classifierParameterShapes, prepareClassifierBatch, windowMask } from './params.js';

export class TfjsCnnClassifier implements TextClassifier {
  readonly backend: string;
  private readonly variables = new Map<string, tf.Variable>();
  private readonly adam = new TfjsAdam();

  constructor(
    readonly config: ClassifierConfig,
    readonly vocabSize: number,
    readonly numClasses: number,
    parameters: TensorMap,
  ) {
    this.backend = tf.getBackend();
    for (const [name, shape] of classifierParameterShapes(config, vocabSize, numClasses)) {
      const t = parameters.get(name);
      if (!t) throw new Error(`classifier: parameter ${name} is missing`);
      this.variables.set(
        name,
        tf.variable(tf.tensor(t.data, shape), true, `cnn.${name}#${tf.util.now()}`),
      );
    }
  }

  private forward(
    ids: Int32Array,
    B: number,
    T: number,
    lengths: Int32Array,
    dropout: Float32Array | null,
  ): tf.Tensor2D {
    const { embedDim: E, filters: F, kernelSizes } = this.config;
    const x = tf.reshape(embeddingLookup(param(this.variables, 'embedding.weight'), ids), [
      B,
      T,
      E,
    ]);
    const pooled = kernelSizes.map((k) => {
      const W = T - k + 1;
      const windows = tf.concat(
        Array.from({ length: k }, (_, j) => tf.slice(x, [0, j, 0], [B, W, E])),
        2,
      ); // [B, W, k·E]
      const conv = tf.relu(
        tf.add(
          tf.matMul(tf.reshape(windows, [B * W, k * E]), param(this.variables, `conv.${k}.weight`)),
          param(this.variables, `conv.${k}.bias`),
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
      tf.matMul(features, param(this.variables, 'classifier.weight')),
      param(this.variables, 'classifier.bias'),
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
    const features = this.config.kernelSizes.length * this.config.filters;
    const rate = this.config.dropout;
    // Inverted dropout with a seeded mask: the same seed gives the same update on every backend.
    const dropout =
      rate > 0
        ? Float32Array.from({ length: B * features }, () =>
            rng.uniform() < rate ? 0 : 1 / (1 - rate),
          )
        : null;
    const names = [...this.variables.keys()];
    const varList = names.map((n) => this.variables.get(n) as tf.Variable);
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
    this.adam.apply(this.variables, gradients, { gradientClipNorm: 0, ...options });
    for (const g of gradients.values()) g.dispose();
    return { loss };
  }

  getParameters(): TensorMap {
    return new Map(
      [...this.variables].map(([name, v]) => [
        name,
        { shape: [...v.shape], data: v.dataSync() as Float32Array },
      ]),
    );
  }

  setParameters(parameters: TensorMap): void {
    for (const [name, v] of this.variables) {
      const t = parameters.get(name);
      if (!t) throw new Error(`setParameters: ${name} is missing`);
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
    }
  }

  getOptimizerState(): OptimizerState {
    return this.adam.getState();
  }

  setOptimizerState(state: OptimizerState): void {
    this.adam.setState(state, this.variables);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
    this.adam.dispose();
  }
}
