/**
 * Every artifact key of rdlab, in one place. Content addresses: an artifact's key hashes
 * everything it depends on and nothing else: the behaviour samples of a (dataset, attribute)
 * depend on the dataset, β, R and the sampling settings, never on γ, the dropout kind or the
 * target, so a sweep of many cells samples once. Experiment keys (`experimentPrefix`) are by id.
 */
import { contentHash, type ResolvedDataset, resolveDataset, type SweepSpec } from '@rdlab/core';

/** A dataset as content: where it is and how it is read, not what the spec calls it. */
export function datasetContent(dataset: ResolvedDataset) {
  const { name: _name, attributes: _attributes, ...content } = dataset;
  return content;
}

const short = (value: unknown) => contentHash(value).slice(0, 24);

/** The spec's dataset `name`, resolved; throws naming the datasets it has. */
export function datasetOf(spec: SweepSpec, name: string): ResolvedDataset {
  const dataset = spec.datasets.find((d) => d.name === name);
  if (!dataset)
    throw new Error(
      `the spec has no dataset '${name}': one of ${spec.datasets.map((d) => d.name).join(', ')}`,
    );
  return resolveDataset(dataset);
}

/** The artifact key of an experiment's resolved spec (written by the scheduler, read by jobs). */
export const specKeyOf = (spec: SweepSpec) => `specs/${short(spec)}.json`;

export function tokenizerKey(spec: SweepSpec, dataset: ResolvedDataset, vocabSize: number): string {
  const checkpoint = spec.behavior.tokenizer.checkpoint ?? spec.behavior.model.checkpoint;
  return `tokenizers/${short({ dataset: datasetContent(dataset), vocabSize, checkpoint: checkpoint ?? null })}`;
}

export function behaviorKey(spec: SweepSpec, dataset: ResolvedDataset, tokenizer: string): string {
  return `behavior/${short({ dataset: datasetContent(dataset), tokenizer, model: spec.behavior.model, training: spec.behavior.model.checkpoint ? null : spec.behavior.training, maxLength: spec.training.maxLength })}`;
}

export function rewardKey(
  spec: SweepSpec,
  dataset: ResolvedDataset,
  tokenizer: string,
  classes: string[],
): string {
  return `reward-models/${short({ dataset: datasetContent(dataset), tokenizer, classes, model: spec.rewardModel.model, training: spec.rewardModel.model.checkpoint ? null : spec.rewardModel.training })}`;
}

/**
 * A BERT reward model fine-tuned on a dataset: keyed by the checkpoint's content (`identity`: its
 * config, weights and tokenizer files, so a re-uploaded checkpoint under the same reference is a
 * new R), the dataset and its class order, and the fine-tuning settings with their seed. Not by
 * β or its tokenizer: R reads text, so every β and every cell on the dataset shares it.
 */
export function bertRewardKey(
  spec: SweepSpec,
  dataset: ResolvedDataset,
  classes: string[],
  checkpoint: { reference: string; identity: string },
): string {
  return `reward-models/bert-${short({ format: 1, dataset: datasetContent(dataset), classes, checkpoint, finetune: spec.rewardModel.finetune ?? null })}`;
}

/** What a behaviour sample depends on besides its prefix range. */
export function samplingContent(
  spec: SweepSpec,
  dataset: ResolvedDataset,
  attribute: string,
  models: { tokenizer: string; behavior: string; reward: string },
) {
  const { temperature, topK, repetitionPenalty, prefixLength, maxLength } = spec.training;
  return {
    // 2: shards carry the sampling distribution's log-probabilities too.
    format: 2,
    dataset: datasetContent(dataset),
    attribute,
    models,
    sampling: { temperature, topK, repetitionPenalty, prefixLength, maxLength },
    samplesPerPrefix: spec.bootstrap.samplesPerPrefix,
    selectionSeed: spec.bootstrap.seed,
  };
}

export function shardKey(
  content: ReturnType<typeof samplingContent>,
  start: number,
  end: number,
): string {
  return `shards/${short({ ...content, start, end })}.arrow`;
}

export function evalSetKey(
  spec: SweepSpec,
  dataset: ResolvedDataset,
  attribute: string,
  models: { tokenizer: string; behavior: string; reward: string },
): string {
  const { temperature, topK, repetitionPenalty, prefixLength, maxLength } = spec.training;
  return `eval-sets/${short({ format: 2, dataset: datasetContent(dataset), attribute, models, prefixes: spec.evaluation.prefixes, sampling: { temperature, topK, repetitionPenalty, prefixLength, maxLength }, selectionSeed: spec.bootstrap.seed })}.json`;
}

export const cellPrefix = (cellId: string) => `cells/${cellId}`;

/** Where a finished cell's result lives: its train job's output. */
export const cellResultKey = (cellId: string) => `${cellPrefix(cellId)}/result.json`;

/** One shard of an attribute's behaviour samples, as `prepare` plans it. */
export interface ShardPlan {
  key: string;
  dataset: string;
  attribute: string;
  /** Prefix range [start, end) of the attribute's selection. */
  start: number;
  end: number;
}

/** What `prepare` leaves for the other jobs of one dataset. */
export interface PreparedManifest {
  dataset: string;
  keys: { tokenizer: string; behavior: string; reward: string };
  classes: string[];
  rewardAccuracy: number | null;
  attributes: Record<
    string,
    {
      /** Training prefixes selected (fewer than asked when the data runs out). */
      prefixCount: number;
      /** The selection, stored once so shard jobs need not re-read the dataset. */
      prefixesKey: string;
      shards: ShardPlan[];
      evalSetKey: string;
    }
  >;
}

/**
 * The manifest's address: everything prepare, prefix selection, shard planning and the
 * evaluation set depend on, computable without running prepare (the scheduler polls it).
 */
export function manifestKey(spec: SweepSpec, datasetName: string): string {
  const dataset = datasetOf(spec, datasetName);
  const { prefixLength, maxLength, temperature, topK, repetitionPenalty } = spec.training;
  return `manifests/${short({
    format: 1,
    dataset: datasetContent(dataset),
    attributes: dataset.attributes,
    behavior: spec.behavior,
    rewardModel: spec.rewardModel,
    sampling: { prefixLength, maxLength, temperature, topK, repetitionPenalty },
    bootstrap: spec.bootstrap,
    evaluationPrefixes: spec.evaluation.prefixes,
  })}.json`;
}

/** An attribute's selected training prefixes: named by the shards that read them. */
export const prefixesKey = (shards: ShardPlan[]) =>
  `prefixes/${short({ shards: shards.map((s) => s.key) })}.json`;

/** Where an experiment's report, results.json and results.csv live (written by its report job). */
export const experimentPrefix = (experimentId: string) => `experiments/${experimentId}`;

/** One file of an experiment's results (`results.json`, `results.csv`, `report.html`). */
export const resultsKey = (experimentId: string, file: string) =>
  `${experimentPrefix(experimentId)}/${file}`;
