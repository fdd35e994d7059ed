/**
 * The BERT reward model's description: the fields of transformers' BertConfig that
 * BertForSequenceClassification reads, under their config.json names, and its parameters under
 * the checkpoint's names.
 *
 * Legend: V vocabulary, P positions, C hidden size, F intermediate size, K labels.
 */
import type { Rng } from '@rdlab/core';
import { ModelFileError } from '../errors.js';
import type { TensorMap } from '../safetensors.js';

export interface BertConfig {
  model_type: 'bert';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  /** Only `gelu` (erf; transformers' GELUActivation), bert-base-uncased's. */
  hidden_act: 'gelu';
  max_position_embeddings: number;
  type_vocab_size: number;
  /** 1e-12 in BertConfig and every Google BERT. */
  layer_norm_eps: number;
  /** Right padding's id; the attention mask is 0 there. */
  pad_token_id: number;
  num_labels: number;
  /** Class names by index: id2label, else transformers' default `LABEL_i`. */
  labels: string[];
  /**
   * Dropout on the pooled output before the classifier in training: `classifier_dropout`, else
   * `hidden_dropout_prob` (BertForSequenceClassification's rule), else 0.1 (BertConfig's default
   * and the head of the authors' code). The encoder's own dropouts are not applied (see README).
   */
  classifier_dropout: number;
  /** Std of the normal init of a head the checkpoint lacks (BertConfig: 0.02). */
  initializer_range: number;
}

/**
 * Reads a Hugging Face BERT config.json. Errors name the field: an unknown `model_type`, a
 * `hidden_act` other than `gelu`, a `position_embedding_type` other than `absolute`, a missing
 * or non-numeric size.
 */
export function bertConfigFromJson(
  json: Record<string, unknown>,
  where = 'config.json',
): BertConfig {
  const fail = (key: string, detail: string): never => {
    throw new ModelFileError('RDLAB_CHECKPOINT_MALFORMED', where, `'${key}' ${detail}`);
  };
  const number = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail(key, `must be a number, got ${JSON.stringify(json[key])}`);
    return v as number;
  };
  const integer = (key: string, fallback?: number): number => {
    const v = number(key, fallback);
    if (!Number.isInteger(v) || v < 0) fail(key, `must be an integer ≥ 0, got ${v}`);
    return v;
  };
  if (json.model_type !== 'bert')
    fail(
      'model_type',
      `${JSON.stringify(json.model_type)} is not supported; the reward model runs 'bert'`,
    );
  const act = json.hidden_act ?? 'gelu';
  if (act !== 'gelu')
    fail('hidden_act', `${JSON.stringify(act)} is not supported; BERT uses 'gelu' (erf)`);
  const position = json.position_embedding_type ?? 'absolute';
  if (position !== 'absolute')
    fail(
      'position_embedding_type',
      `${JSON.stringify(position)} is not supported; rdlab runs 'absolute'`,
    );
  const C = integer('hidden_size');
  const H = integer('num_attention_heads');
  if (H === 0 || C % H !== 0) fail('num_attention_heads', `${H} does not divide hidden_size ${C}`);
  // transformers: num_labels from id2label when given, else 2 (PretrainedConfig's default).
  const id2label = json.id2label as Record<string, unknown> | undefined;
  const named =
    id2label && typeof id2label === 'object'
      ? Object.keys(id2label)
          .sort((a, b) => Number(a) - Number(b))
          .map((k) => String(id2label[k]))
      : undefined;
  const numLabels = integer('num_labels', named?.length ?? 2);
  if (numLabels < 1) fail('num_labels', 'must be at least 1');
  if (named && named.length !== numLabels)
    fail('id2label', `names ${named.length} labels but num_labels is ${numLabels}`);
  const labels = named ?? Array.from({ length: numLabels }, (_, i) => `LABEL_${i}`);
  const dropout = json.classifier_dropout ?? json.hidden_dropout_prob ?? 0.1;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1)
    fail('classifier_dropout', `must be in [0, 1), got ${JSON.stringify(dropout)}`);
  return {
    model_type: 'bert',
    vocab_size: integer('vocab_size'),
    hidden_size: C,
    num_hidden_layers: integer('num_hidden_layers'),
    num_attention_heads: H,
    intermediate_size: integer('intermediate_size'),
    hidden_act: 'gelu',
    max_position_embeddings: integer('max_position_embeddings', 512),
    type_vocab_size: integer('type_vocab_size', 2),
    layer_norm_eps: number('layer_norm_eps', 1e-12),
    pad_token_id: integer('pad_token_id', 0),
    num_labels: numLabels,
    labels,
    classifier_dropout: dropout as number,
    initializer_range: number('initializer_range', 0.02),
  };
}

/** The config.json transformers reads back as a BertForSequenceClassification. */
export function bertConfigJson(c: BertConfig): Record<string, unknown> {
  const labels = c.labels;
  return {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    intermediate_size: c.intermediate_size,
    hidden_act: c.hidden_act,
    max_position_embeddings: c.max_position_embeddings,
    type_vocab_size: c.type_vocab_size,
    layer_norm_eps: c.layer_norm_eps,
    pad_token_id: c.pad_token_id,
    position_embedding_type: 'absolute',
    classifier_dropout: c.classifier_dropout,
    initializer_range: c.initializer_range,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

/** The names of one encoder layer's tensors, in the native engine's flat order. */
function layerShapes(l: number, C: number, F: number): Array<[string, number[]]> {
  const p = `bert.encoder.layer.${l}.`;
  return [
    [`${p}attention.self.query.weight`, [C, C]],
    [`${p}attention.self.query.bias`, [C]],
    [`${p}attention.self.key.weight`, [C, C]],
    [`${p}attention.self.key.bias`, [C]],
    [`${p}attention.self.value.weight`, [C, C]],
    [`${p}attention.self.value.bias`, [C]],
    [`${p}attention.output.dense.weight`, [C, C]],
    [`${p}attention.output.dense.bias`, [C]],
    [`${p}attention.output.LayerNorm.weight`, [C]],
    [`${p}attention.output.LayerNorm.bias`, [C]],
    [`${p}intermediate.dense.weight`, [F, C]],
    [`${p}intermediate.dense.bias`, [F]],
    [`${p}output.dense.weight`, [C, F]],
    [`${p}output.dense.bias`, [C]],
    [`${p}output.LayerNorm.weight`, [C]],
    [`${p}output.LayerNorm.bias`, [C]],
  ];
}

/**
 * The parameter name of a stored tensor: TF-era LayerNorm `gamma`/`beta` (bert-base-uncased's own
 * file) read as `weight`/`bias`, and keys without BertModel's `bert.` prefix (a bare BertModel
 * save) given it; `classifier.*` keeps none.
 */
export function bertParameterName(key: string): string {
  let name = key
    .replace(/(LayerNorm)\.gamma$/, '$1.weight')
    .replace(/(LayerNorm)\.beta$/, '$1.bias');
  if (!name.startsWith('bert.') && !name.startsWith('classifier.')) name = `bert.${name}`;
  return name;
}

/**
 * Every parameter of BertForSequenceClassification by its checkpoint name and shape, in the
 * order of the native engine's flat buffer (native/src/bert.cc). Linear weights are [out, in].
 */
export function bertParameterShapes(c: BertConfig): Array<[string, number[]]> {
  const C = c.hidden_size;
  return [
    ['bert.embeddings.word_embeddings.weight', [c.vocab_size, C]],
    ['bert.embeddings.position_embeddings.weight', [c.max_position_embeddings, C]],
    ['bert.embeddings.token_type_embeddings.weight', [c.type_vocab_size, C]],
    ['bert.embeddings.LayerNorm.weight', [C]],
    ['bert.embeddings.LayerNorm.bias', [C]],
    ...Array.from({ length: c.num_hidden_layers }, (_, l) =>
      layerShapes(l, C, c.intermediate_size),
    ).flat(),
    ['bert.pooler.dense.weight', [C, C]],
    ['bert.pooler.dense.bias', [C]],
    ['classifier.weight', [c.num_labels, C]],
    ['classifier.bias', [c.num_labels]],
  ];
}

/**
 * BertPreTrainedModel._init_weights: Linear and Embedding weights N(0, initializer_range),
 * biases 0, LayerNorm weight 1 and bias 0 (the padding row of the word embeddings zeroed).
 * `names` limits it to those parameters (a head the checkpoint lacks).
 */
export function initBertParameters(
  c: BertConfig,
  rng: Rng,
  names?: ReadonlySet<string>,
): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, shape] of bertParameterShapes(c)) {
    if (names && !names.has(name)) continue;
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (name.includes('LayerNorm')) {
      if (name.endsWith('.weight')) data.fill(1);
    } else if (name.endsWith('.weight')) {
      for (let i = 0; i < data.length; i++) data[i] = rng.normal() * c.initializer_range;
      if (name === 'bert.embeddings.word_embeddings.weight')
        data.fill(0, c.pad_token_id * c.hidden_size, (c.pad_token_id + 1) * c.hidden_size);
    }
    out.set(name, { shape, data });
  }
  return out;
}

/**
 * The inverted-dropout mask `[B, C]` of the pooled output for one training step (the head's
 * nn.Dropout), drawn from `rng` on the JavaScript side so a seed gives the same update on every
 * engine; null when the rate is 0.
 */
export function pooledDropoutMask(c: BertConfig, batchSize: number, rng: Rng): Float32Array | null {
  const rate = c.classifier_dropout;
  if (rate <= 0) return null;
  const keep = 1 / (1 - rate);
  return Float32Array.from({ length: batchSize * c.hidden_size }, () =>
    rng.uniform() < rate ? 0 : keep,
  );
}

/**
 * Truncates a right-padded batch to the model's positions and its lengths to the batch width;
 * lengths below 1 become 1 (a row attends to at least its first token).
 */
export function prepareBertBatch(
  c: BertConfig,
  ids: Int32Array,
  B: number,
  T0: number,
  lengths: Int32Array,
): { ids: Int32Array; length: number; lengths: Int32Array } {
  const T = Math.min(T0, c.max_position_embeddings);
  const clipped = lengths.map((l) => Math.max(1, Math.min(l, T)));
  if (T === T0) return { ids, length: T, lengths: clipped };
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) out.set(ids.subarray(b * T0, b * T0 + T), b * T);
  return { ids: out, length: T, lengths: clipped };
}
