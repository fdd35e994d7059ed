/**
 * Stage `bootstrap`: the behaviour samples of one (dataset, attribute), split into shards. A shard
 * is a range of prefixes × K samples from β, with β's per-token log-probabilities and R's logits;
 * it is keyed by everything it depends on, so a shard that exists is never sampled again.
 */
import { createRng, type SweepSpec, sequenceLikelihood } from '@rdlab/core';
import { type Prefix, selectPrefixes } from '@rdlab/data';
import { generate, generatedRows } from '@rdlab/ml';
import { type ShardPlan, samplingContent, shardKey } from '@rdlab/plan';
import { type StageContext, throwIfAborted } from './ports.js';
import type { PreparedDataset } from './prepare.js';
import { tokenizerIdentity } from './retokenize.js';
import { rewardLogits } from './reward-scorer.js';
import { type BehaviorSample, encodeShard } from './shard-file.js';

/** Sequences sampled per model call. */
const SAMPLING_BATCH = 128;

/** The attribute's training prefixes: a seeded selection, stable as the requested count grows. */
export function trainingPrefixes(spec: SweepSpec, prepared: PreparedDataset, attribute: string) {
  const records = prepared.data.train.get(attribute) ?? [];
  return selectPrefixes(records, (t) => prepared.tokenizer.encode(t), {
    count: spec.bootstrap.prefixesPerAttribute,
    prefixLength: spec.training.prefixLength,
    maxLength: spec.training.maxLength,
    seed: spec.bootstrap.seed,
    label: `${prepared.dataset.name}/${attribute}/train`,
  });
}

/** Splits the attribute's prefixes into shards of `shardSize`. */
export function planShards(
  spec: SweepSpec,
  prepared: PreparedDataset,
  attribute: string,
  prefixCount: number,
): ShardPlan[] {
  const content = samplingContent(spec, prepared.dataset, attribute, prepared.keys);
  const plans: ShardPlan[] = [];
  for (let start = 0; start < prefixCount; start += spec.bootstrap.shardSize) {
    const end = Math.min(prefixCount, start + spec.bootstrap.shardSize);
    plans.push({
      key: shardKey(content, start, end),
      dataset: prepared.dataset.name,
      attribute,
      start,
      end,
    });
  }
  return plans;
}

/**
 * Samples `prefixes` × K continuations from β and scores them with R. Shared by the bootstrap and
 * the evaluation set (β samples for the token-accuracy metric).
 */
export function sampleBehavior(
  spec: SweepSpec,
  prepared: PreparedDataset,
  prefixes: Prefix[],
  firstIndex: number,
  samplesPerPrefix: number,
  rngLabel: Array<string | number>,
  onBatch?: (done: number) => void,
  signal?: AbortSignal,
): BehaviorSample[] {
  const { tokenizer, behavior, reward } = prepared;
  const { prefixLength: p, maxLength: T, temperature, topK, repetitionPenalty } = spec.training;
  const rows = prefixes.flatMap((prefix, i) =>
    Array.from({ length: samplesPerPrefix }, (_, k) => ({ prefix, index: firstIndex + i, k })),
  );
  const samples: BehaviorSample[] = [];
  for (let start = 0; start < rows.length; start += SAMPLING_BATCH) {
    throwIfAborted(signal);
    const batch = rows.slice(start, start + SAMPLING_BATCH);
    const B = batch.length;
    const ids = new Int32Array(B * p);
    batch.forEach((r, b) => {
      ids.set(r.prefix.ids, b * p);
    });
    const gen = generate(behavior, ids, B, {
      maxLength: T,
      temperature,
      topK,
      repetitionPenalty,
      eosId: tokenizer.eosId,
      rng: createRng(spec.bootstrap.seed, ...rngLabel, start),
    });
    // R reads the sentence without its end-of-text token, as it was trained.
    const generated = generatedRows(gen, tokenizer.eosId);
    const words = generated.map((g) => g.words);
    const logits = rewardLogits(prepared, words);
    const C = reward.numClasses;
    // β̄ of β's own probabilities, as a summary column; training picks its β̄ from the per-token
    // columns (`training.behaviorProbabilities`).
    const likelihood = sequenceLikelihood(
      { logprobs: gen.tokenLogprobs, mask: gen.mask, batchSize: B, length: T },
      'mean',
    );
    batch.forEach((r, b) => {
      const { tokens, logprobs: lp, samplingLogprobs } = generated[b] as (typeof generated)[number];
      samples.push({
        prefixIndex: r.index,
        sampleIndex: r.k,
        tokens,
        prefixLength: p,
        behaviorLogprobs: lp,
        samplingLogprobs,
        behaviorLikelihood: likelihood[b] as number,
        rewardLogits: logits.slice(b * C, (b + 1) * C),
        text: tokenizer.decode(words[b] as Int32Array),
      });
    });
    onBatch?.(Math.min(rows.length, start + SAMPLING_BATCH));
  }
  return samples;
}

/** Samples and stores one shard unless the store has it. Returns whether work was done. */
export async function runShard(
  ctx: StageContext,
  spec: SweepSpec,
  prepared: PreparedDataset,
  plan: ShardPlan,
  prefixes: Prefix[],
): Promise<boolean> {
  if (await ctx.store.exists(plan.key)) return false;
  const K = spec.bootstrap.samplesPerPrefix;
  const task = `bootstrap/${plan.key}`;
  ctx.progress.start({
    id: task,
    label: `sample ${plan.dataset}/${plan.attribute} prefixes ${plan.start}–${plan.end}`,
    total: (plan.end - plan.start) * K,
    unit: 'samples',
  });
  let reported = 0;
  const samples = sampleBehavior(
    spec,
    prepared,
    prefixes.slice(plan.start, plan.end),
    plan.start,
    K,
    ['shard', prepared.dataset.name, plan.attribute, plan.start],
    (done) => {
      ctx.progress.advance(task, done - reported);
      reported = done;
    },
    ctx.signal,
  );
  ctx.counters.sampledSequences += samples.length;
  const content = samplingContent(spec, prepared.dataset, plan.attribute, prepared.keys);
  await ctx.store.put(
    plan.key,
    encodeShard(samples, prepared.reward.numClasses, {
      ...content,
      tokenizer: tokenizerIdentity(prepared.tokenizer),
      start: plan.start,
      end: plan.end,
      classes: prepared.classes,
    }),
  );
  ctx.counters.shardsWritten += 1;
  ctx.progress.finish(task);
  const mean = (f: (s: BehaviorSample) => number) =>
    samples.reduce((a, s) => a + f(s), 0) / Math.max(1, samples.length);
  const attributeIndex = prepared.classes.indexOf(plan.attribute);
  await ctx.metrics.record([
    {
      cell: `${plan.dataset}/${plan.attribute}`,
      stage: 'bootstrap',
      epoch: 0,
      step: plan.start,
      name: 'behavior/mean_likelihood',
      value: mean((s) => s.behaviorLikelihood),
    },
    {
      cell: `${plan.dataset}/${plan.attribute}`,
      stage: 'bootstrap',
      epoch: 0,
      step: plan.start,
      name: 'reward_model/mean_logit',
      value: mean((s) => s.rewardLogits[attributeIndex] as number),
    },
  ]);
  return true;
}
