/**
 * Behaviour samples as an Apache Arrow IPC file, one row per sample, readable from Python with
 * `pyarrow.ipc.open_file`:
 *
 *   prefix_index   int32                    index of the prefix in the attribute's selection
 *   sample_index   int32                    0 … K−1
 *   tokens         list<int32>              prefix + continuation (end-of-text included if drawn)
 *   prefix_length  int32
 *   behavior_logprobs list<float32>         log β of each continuation token (temperature 1)
 *   sampling_logprobs list<float32>         log p of each token under the distribution it was
 *                                           drawn from (penalty, temperature, top-k applied)
 *   behavior_likelihood float64             β̄: mean token probability of the continuation
 *   reward_logits  fixed_size_list<float32>[C]  R's logits for every class, on prefix + continuation
 *   text           utf8                     the decoded sentence
 *
 * The schema metadata `rdlab` holds the shard's settings as JSON, with `formatVersion` (2 since
 * shards name their tokenizer: `tokenizer`, the identity of the tokenizer whose ids `tokens`
 * holds — an HfTokenizer's `identity` hash or the in-house BPE's content hash). Version 1 shards
 * (no `formatVersion`) read as before, with `tokenizer: null`.
 */
import {
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int32,
  List,
  Table,
  tableFromIPC,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';

export interface BehaviorSample {
  prefixIndex: number;
  sampleIndex: number;
  tokens: Int32Array;
  prefixLength: number;
  behaviorLogprobs: Float32Array;
  /** The same tokens under the sampling distribution (`training.behaviorProbabilities`). */
  samplingLogprobs: Float32Array;
  behaviorLikelihood: number;
  rewardLogits: Float32Array;
  text: string;
}

/** The shard layout written now; readers accept 1 and 2. */
export const SHARD_FORMAT_VERSION = 2;

export function encodeShard(
  samples: BehaviorSample[],
  numClasses: number,
  metadata: Record<string, unknown> & { tokenizer?: string },
): Uint8Array {
  const table = new Table({
    prefix_index: vectorFromArray(
      samples.map((s) => s.prefixIndex),
      new Int32(),
    ),
    sample_index: vectorFromArray(
      samples.map((s) => s.sampleIndex),
      new Int32(),
    ),
    tokens: vectorFromArray(
      samples.map((s) => s.tokens),
      new List(new Field('item', new Int32(), false)),
    ),
    prefix_length: vectorFromArray(
      samples.map((s) => s.prefixLength),
      new Int32(),
    ),
    behavior_logprobs: vectorFromArray(
      samples.map((s) => s.behaviorLogprobs),
      new List(new Field('item', new Float32(), false)),
    ),
    sampling_logprobs: vectorFromArray(
      samples.map((s) => s.samplingLogprobs),
      new List(new Field('item', new Float32(), false)),
    ),
    behavior_likelihood: vectorFromArray(
      samples.map((s) => s.behaviorLikelihood),
      new Float64(),
    ),
    reward_logits: vectorFromArray(
      samples.map((s) => s.rewardLogits),
      new FixedSizeList(numClasses, new Field('item', new Float32(), false)),
    ),
    text: vectorFromArray(
      samples.map((s) => s.text),
      new Utf8(),
    ),
  });
  table.schema.metadata.set(
    'rdlab',
    JSON.stringify({ ...metadata, formatVersion: SHARD_FORMAT_VERSION }),
  );
  return tableToIPC(table, 'file');
}

export function decodeShard(bytes: Uint8Array): {
  samples: BehaviorSample[];
  metadata: Record<string, unknown>;
  formatVersion: number;
  /** The identity of the tokenizer of `tokens`; null in version 1 shards. */
  tokenizer: string | null;
} {
  const table = tableFromIPC(bytes);
  const metadata = JSON.parse(table.schema.metadata.get('rdlab') ?? '{}') as Record<
    string,
    unknown
  >;
  const formatVersion = typeof metadata.formatVersion === 'number' ? metadata.formatVersion : 1;
  if (formatVersion > SHARD_FORMAT_VERSION)
    throw new Error(
      `shard file format ${formatVersion} is newer than this rdlab reads (≤ ${SHARD_FORMAT_VERSION})`,
    );
  const col = (name: string) => {
    const c = table.getChild(name);
    if (!c) throw new Error(`shard file has no column '${name}'`);
    return c;
  };
  const [
    prefixIndex,
    sampleIndex,
    tokens,
    prefixLength,
    logprobs,
    samplingLogprobs,
    likelihood,
    logits,
    text,
  ] = [
    'prefix_index',
    'sample_index',
    'tokens',
    'prefix_length',
    'behavior_logprobs',
    'sampling_logprobs',
    'behavior_likelihood',
    'reward_logits',
    'text',
  ].map(col);
  const samples: BehaviorSample[] = [];
  for (let i = 0; i < table.numRows; i++) {
    samples.push({
      prefixIndex: prefixIndex?.get(i) as number,
      sampleIndex: sampleIndex?.get(i) as number,
      tokens: Int32Array.from(tokens?.get(i).toArray() as Int32Array),
      prefixLength: prefixLength?.get(i) as number,
      behaviorLogprobs: Float32Array.from(logprobs?.get(i).toArray() as Float32Array),
      samplingLogprobs: Float32Array.from(samplingLogprobs?.get(i).toArray() as Float32Array),
      behaviorLikelihood: likelihood?.get(i) as number,
      rewardLogits: Float32Array.from(logits?.get(i).toArray() as Float32Array),
      text: text?.get(i) as string,
    });
  }
  return {
    samples,
    metadata,
    formatVersion,
    tokenizer: typeof metadata.tokenizer === 'string' ? metadata.tokenizer : null,
  };
}
