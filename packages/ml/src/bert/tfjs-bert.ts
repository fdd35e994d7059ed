/**
 * The BERT reward model on TensorFlow.js (any backend; wasm on the CPU): the forward pass of
 * transformers' BertForSequenceClassification as tfjs ops, trained through tf gradients. Reuses
 * the decoders' LayerNorm, erf GELU, matmul and embedding lookup (gpt2/layers.ts).
 *
 * Legend: B batch, T positions, C hidden size, H heads, D = C/H, F intermediate size, K labels.
 */
import type { Rng } from '@rdlab/core';
import * as tf from '@tensorflow/tfjs';
import { type AdamOptions, type BertClassifier, frozenError, type TokenBatch } from '../engine.js';
import { embeddingLookup, geluErf, layerNorm, linear, type Params, param } from '../gpt2/layers.js';
import { ParameterOwner } from '../parameter-owner.js';
import type { TensorMap } from '../safetensors.js';
import { TfjsParameters } from '../tfjs-parameters.js';
import {
  type BertConfig,
  bertParameterShapes,
  pooledDropoutMask,
  prepareBertBatch,
} from './config.js';

/** x [N, in] → x · Wᵀ + b for torch.nn.Linear's W [out, in]. */
function dense(x: tf.Tensor2D, params: Params, name: string): tf.Tensor2D {
  const w = param(params, `${name}.weight`) as tf.Tensor2D;
  return tf.add(linear(x, tf.transpose(w)), param(params, `${name}.bias`)) as tf.Tensor2D;
}

function norm(x: tf.Tensor, params: Params, name: string, eps: number): tf.Tensor2D {
  return layerNorm(
    x,
    param(params, `${name}.weight`),
    param(params, `${name}.bias`),
    eps,
  ) as tf.Tensor2D;
}

/**
 * The additive key padding mask `[B, 1, 1, T]`: 0 on a row's first `lengths[b]` keys, −1e9 after
 * (modeling_bert.py adds the dtype's minimum; either gives masked keys exactly zero weight).
 */
function keyMask(lengths: Int32Array, T: number): tf.Tensor4D {
  const B = lengths.length;
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) mask.fill(-1e9, b * T + (lengths[b] as number), (b + 1) * T);
  return tf.tensor4d(mask, [B, 1, 1, T]);
}

/** Logits `[B, K]`: embeddings → post-LN encoder → pooler (tanh of dense, first token) → head. */
export function bertForward(
  c: BertConfig,
  params: Params,
  ids: Int32Array,
  lengths: Int32Array,
  B: number,
  T: number,
  dropout: Float32Array | null,
): tf.Tensor2D {
  const C = c.hidden_size;
  const H = c.num_attention_heads;
  const D = C / H;
  const N = B * T;
  const eps = c.layer_norm_eps;
  // word + position + token type 0 (one-segment inputs) → LayerNorm (BertEmbeddings)
  const positions = Int32Array.from({ length: N }, (_, n) => n % T);
  const word = embeddingLookup(param(params, 'bert.embeddings.word_embeddings.weight'), ids);
  const pos = embeddingLookup(
    param(params, 'bert.embeddings.position_embeddings.weight'),
    positions,
  );
  const type0 = tf.slice(
    param(params, 'bert.embeddings.token_type_embeddings.weight'),
    [0, 0],
    [1, C],
  );
  let x = norm(tf.add(tf.add(word, pos), type0), params, 'bert.embeddings.LayerNorm', eps); // [N, C]
  const mask = keyMask(lengths, T);
  const heads = (t: tf.Tensor) =>
    tf.transpose(tf.reshape(t, [B, T, H, D]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, D]
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `bert.encoder.layer.${l}.`;
    const q = heads(dense(x, params, `${p}attention.self.query`));
    const k = heads(dense(x, params, `${p}attention.self.key`));
    const v = heads(dense(x, params, `${p}attention.self.value`));
    const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)), mask); // [B, H, T, T]
    const ctx = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [
      N,
      C,
    ]) as tf.Tensor2D;
    // BertSelfOutput and BertOutput: LayerNorm(dense(·) + residual) (post-LN)
    const a = norm(
      tf.add(dense(ctx, params, `${p}attention.output.dense`), x),
      params,
      `${p}attention.output.LayerNorm`,
      eps,
    );
    const g = geluErf(dense(a, params, `${p}intermediate.dense`)) as tf.Tensor2D; // [N, F]
    x = norm(tf.add(dense(g, params, `${p}output.dense`), a), params, `${p}output.LayerNorm`, eps);
  }
  const first = tf.reshape(tf.slice(tf.reshape(x, [B, T, C]), [0, 0, 0], [B, 1, C]), [B, C]);
  let pooled = tf.tanh(dense(first as tf.Tensor2D, params, 'bert.pooler.dense')) as tf.Tensor2D;
  if (dropout) pooled = tf.mul(pooled, tf.tensor2d(dropout, [B, C]));
  return dense(pooled, params, 'classifier');
}

export class TfjsBertClassifier extends ParameterOwner implements BertClassifier {
  readonly backend: string;
  readonly vocabSize: number;
  readonly numClasses: number;
  readonly maxLength: number;
  readonly frozen: boolean;
  protected readonly parameters: TfjsParameters;

  constructor(
    readonly config: BertConfig,
    parameters: TensorMap,
    options: { frozen?: boolean } = {},
  ) {
    super();
    this.backend = tf.getBackend();
    this.vocabSize = config.vocab_size;
    this.numClasses = config.num_labels;
    this.maxLength = config.max_position_embeddings;
    this.frozen = options.frozen ?? false;
    this.parameters = new TfjsParameters(bertParameterShapes(config), parameters, 'bert');
  }

  logits(batch: TokenBatch, lengths: Int32Array): Float32Array {
    const B = batch.batchSize;
    const p = prepareBertBatch(this.config, batch.ids, B, batch.length, lengths);
    checkIds(p.ids, this.vocabSize);
    return tf.tidy(
      () =>
        bertForward(
          this.config,
          this.parameters.variables,
          p.ids,
          p.lengths,
          B,
          p.length,
          null,
        ).dataSync() as Float32Array,
    );
  }

  /** Loss and gradients by name, without an update (the trainer's first half). */
  lossAndGradients(
    batch: TokenBatch,
    lengths: Int32Array,
    labels: Int32Array,
    dropout: Float32Array | null,
  ): { loss: number; gradients: Map<string, tf.Tensor> } {
    const B = batch.batchSize;
    const p = prepareBertBatch(this.config, batch.ids, B, batch.length, lengths);
    checkIds(p.ids, this.vocabSize);
    const names = [...this.parameters.variables.keys()];
    const varList = names.map((n) => this.parameters.variables.get(n) as tf.Variable);
    const { value, grads } = tf.variableGrads(() => {
      const logits = bertForward(
        this.config,
        this.parameters.variables,
        p.ids,
        p.lengths,
        B,
        p.length,
        dropout,
      );
      // torch's CrossEntropyLoss: the mean over the batch.
      return tf.losses.softmaxCrossEntropy(
        tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses),
        logits,
      ) as tf.Scalar;
    }, varList);
    const loss = value.dataSync()[0] as number;
    value.dispose();
    return {
      loss,
      gradients: new Map(
        names.map((n, i) => [n, grads[(varList[i] as tf.Variable).name] as tf.Tensor]),
      ),
    };
  }

  trainStep(
    batch: TokenBatch,
    lengths: Int32Array,
    labels: Int32Array,
    options: AdamOptions,
    rng: Rng,
  ): { loss: number } {
    if (this.frozen) throw frozenError('BERT classifier', 'trainStep');
    const dropout = pooledDropoutMask(this.config, batch.batchSize, rng);
    const { loss, gradients } = this.lossAndGradients(batch, lengths, labels, dropout);
    this.parameters.step(gradients, { gradientClipNorm: 0, ...options });
    return { loss };
  }
}

function checkIds(ids: Int32Array, V: number): void {
  for (const id of ids)
    if (id < 0 || id >= V) throw new RangeError(`token id ${id} is outside the vocabulary of ${V}`);
}
