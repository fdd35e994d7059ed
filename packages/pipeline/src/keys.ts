/**
 * Content addresses. An artifact's key hashes everything it depends on and nothing else: the
 * behaviour samples of a (dataset, attribute) depend on the dataset, β, R and the sampling
 * settings, never on γ, the dropout kind or the target, so a sweep of many cells samples once.
 */
import { contentHash, type ResolvedDataset, type SweepSpec } from '@rdlab/core';

/** A dataset as content: where it is and how it is read, not what the spec calls it. */
export function datasetContent(dataset: ResolvedDataset) {
  const { name: _name, attributes: _attributes, ...content } = dataset;
  return content;
}

const short = (value: unknown) => contentHash(value).slice(0, 24);

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
