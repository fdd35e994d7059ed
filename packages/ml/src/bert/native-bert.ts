/**
 * The BERT reward model on the native CPU engine (native/src/bert.cc): forward for scoring and
 * backward + Adam for fine-tuning, over one flat parameter buffer in {@link bertParameterShapes}'
 * order.
 */
import type { Rng } from '@rdlab/core';
import { type AdamOptions, type BertClassifier, frozenError, type TokenBatch } from '../engine.js';
import { loadAddon, type NativeCnnHandle } from '../native/addon.js';
import { NativeParameters } from '../native/flat.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import {
  type BertConfig,
  bertParameterShapes,
  pooledDropoutMask,
  prepareBertBatch,
} from './config.js';

/** The addon's BERT has the CNN's methods (`forward(ids, lengths, B, T, dropout [B, C])`). */
export type NativeBertHandle = NativeCnnHandle;

export class NativeBertClassifier extends ParameterOwner implements BertClassifier {
  readonly backend = 'native';
  readonly vocabSize: number;
  readonly numClasses: number;
  readonly maxLength: number;
  readonly frozen: boolean;
  protected readonly parameters: NativeParameters<NativeBertHandle>;

  constructor(
    readonly config: BertConfig,
    parameters: TensorMap,
    options: { frozen?: boolean } = {},
  ) {
    super();
    this.vocabSize = config.vocab_size;
    this.numClasses = config.num_labels;
    this.maxLength = config.max_position_embeddings;
    this.frozen = options.frozen ?? false;
    this.parameters = new NativeParameters(
      bertParameterShapes(config),
      parameters,
      'bert',
      (flat) => new (loadAddon().NativeBert)(config, flat, !this.frozen),
    );
  }

  logits(batch: TokenBatch, lengths: Int32Array): Float32Array {
    const p = prepareBertBatch(this.config, batch.ids, batch.batchSize, batch.length, lengths);
    return this.parameters.handle.forward(p.ids, p.lengths, batch.batchSize, p.length, null);
  }

  trainStep(
    batch: TokenBatch,
    lengths: Int32Array,
    labels: Int32Array,
    options: AdamOptions,
    rng: Rng,
  ): { loss: number } {
    if (this.frozen) throw frozenError('BERT classifier', 'trainStep');
    const B = batch.batchSize;
    const p = prepareBertBatch(this.config, batch.ids, B, batch.length, lengths);
    const handle = this.parameters.handle;
    handle.forward(p.ids, p.lengths, B, p.length, pooledDropoutMask(this.config, B, rng));
    const loss = handle.backward(labels);
    this.parameters.step += 1;
    const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = options;
    handle.adamStep(
      learningRate,
      beta1,
      beta2,
      epsilon,
      options.gradientClipNorm ?? 0,
      this.parameters.step,
    );
    return { loss };
  }

  /** Gradients of the last {@link trainStep} by name (for checks against tfjs). */
  gradients(): TensorMap {
    const flat = this.parameters.handle.getGrads();
    const out: TensorMap = new Map();
    let at = 0;
    for (const [name, shape] of bertParameterShapes(this.config)) {
      const n = shape.reduce((a, b) => a * b, 1);
      out.set(name, { shape, data: flat.slice(at, at + n) });
      at += n;
    }
    return out;
  }
}
