/**
 * The held-out evaluation set of a (dataset, attribute): prefixes from the evaluation split that
 * repeat no training sentence, and β's samples from them (for token accuracy). Content-addressed
 * like a shard, so every cell of the sweep evaluates on the same set.
 */
import type { SweepSpec } from '@rdlab/core';
import { DatasetError, type Prefix, selectPrefixes } from '@rdlab/data';
import { evalSetKey } from '@rdlab/plan';
import { maybeJson, putJson } from '@rdlab/store';
import { sampleBehavior } from './bootstrap.js';
import type { EvalSet } from './evaluate.js';
import type { StageContext } from './ports.js';
import type { PreparedDataset } from './prepare.js';
import type { BehaviorSample } from './shard-file.js';

interface StoredEvalSet {
  prefixes: Prefix[];
  behaviorSamples: Array<
    Omit<BehaviorSample, 'tokens' | 'behaviorLogprobs' | 'samplingLogprobs' | 'rewardLogits'> & {
      tokens: number[];
      behaviorLogprobs: number[];
      samplingLogprobs: number[];
      rewardLogits: number[];
    }
  >;
}

export async function buildEvalSet(
  ctx: StageContext,
  spec: SweepSpec,
  prepared: PreparedDataset,
  attribute: string,
): Promise<EvalSet> {
  const key = evalSetKey(spec, prepared.dataset, attribute, prepared.keys);
  const stored = await maybeJson<StoredEvalSet>(ctx.store, key);
  if (stored) {
    return {
      prefixes: stored.prefixes,
      behaviorSamples: stored.behaviorSamples.map((s) => ({
        ...s,
        tokens: Int32Array.from(s.tokens),
        behaviorLogprobs: Float32Array.from(s.behaviorLogprobs),
        samplingLogprobs: Float32Array.from(s.samplingLogprobs),
        rewardLogits: Float32Array.from(s.rewardLogits),
      })),
    };
  }
  const training = new Set((prepared.data.train.get(attribute) ?? []).map((r) => r.text));
  const selection = selectPrefixes(
    prepared.data.eval.get(attribute) ?? [],
    (t) => prepared.tokenizer.encode(t),
    {
      count: spec.evaluation.prefixes,
      prefixLength: spec.training.prefixLength,
      maxLength: spec.training.maxLength,
      seed: spec.bootstrap.seed,
      label: `${prepared.dataset.name}/${attribute}/eval`,
      exclude: training,
    },
  );
  if (selection.prefixes.length === 0) {
    // All-zero metrics from an empty set would look like a result; they are a data error.
    throw new DatasetError(
      'RDLAB_DATA_EMPTY',
      `${prepared.dataset.name}/${attribute}: no held-out prefixes in split '${prepared.dataset.evalSplit}' (${selection.counts.read} sentences read, ${selection.counts.fitting} fit ${spec.training.maxLength} tokens, every one of them also a training sentence or too long). A single-file source is both splits: point 'source' at a directory with separate splits, or set 'evalSplit'`,
    );
  }
  if (selection.prefixes.length < spec.evaluation.prefixes) {
    ctx.progress.log(
      `${prepared.dataset.name}/${attribute}: ${selection.prefixes.length} held-out prefixes (asked for ${spec.evaluation.prefixes}; ${selection.counts.fitting} of ${selection.counts.read} evaluation sentences fit ${spec.training.maxLength} tokens)`,
    );
  }
  const behaviorSamples = sampleBehavior(
    spec,
    prepared,
    selection.prefixes,
    0,
    1,
    ['eval', prepared.dataset.name, attribute],
    undefined,
    ctx.signal,
  );
  await putJson(ctx.store, key, {
    prefixes: selection.prefixes,
    behaviorSamples: behaviorSamples.map((s) => ({
      ...s,
      tokens: Array.from(s.tokens),
      behaviorLogprobs: Array.from(s.behaviorLogprobs),
      samplingLogprobs: Array.from(s.samplingLogprobs),
      rewardLogits: Array.from(s.rewardLogits),
    })),
  } satisfies StoredEvalSet);
  return { prefixes: selection.prefixes, behaviorSamples };
}
