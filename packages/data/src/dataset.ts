/**
 * A dataset of a spec, read: its sentences per class for the training and evaluation splits.
 */
import { attributeLabel, DATASET_FORMATS, type ResolvedDataset } from '@rdlab/core';
import { demoSplit } from './demo.js';
import { DatasetError } from './errors.js';
import { parseSplitFile, splitFiles, type TextRecord } from './formats.js';
import { openSource, type SourceOptions } from './source.js';

export interface LoadedDataset {
  name: string;
  /** Classes of the reward model: every attribute the format defines (or the spec's, for JSONL). */
  classes: string[];
  /** Sentences per class, training split. */
  train: Map<string, TextRecord[]>;
  /** Sentences per class, evaluation split. */
  eval: Map<string, TextRecord[]>;
}

/** Reads both splits of `dataset` and groups their sentences by class. */
export async function loadDataset(
  dataset: ResolvedDataset,
  options: SourceOptions = {},
): Promise<LoadedDataset> {
  const table: Readonly<Record<string, string>> | null = DATASET_FORMATS[dataset.format].attributes;
  const classes = table === null ? dataset.attributes : Object.keys(table);
  const readSplit = async (split: string): Promise<TextRecord[]> => {
    if (dataset.format === 'builtin') return demoSplit(split);
    const source = await openSource(dataset.source, options);
    if (source.singleFile)
      return parseSplitFile(
        dataset.format,
        source.fileName ?? dataset.source,
        await source.read(''),
        dataset.text,
      );
    const files = splitFiles(dataset.format, split);
    const parts = await Promise.all(
      files.map(async (f) => parseSplitFile(dataset.format, f, await source.read(f), dataset.text)),
    );
    return parts.flat();
  };
  const group = (records: TextRecord[], split: string): Map<string, TextRecord[]> => {
    const byClass = new Map<string, TextRecord[]>(classes.map((c) => [c, []]));
    const labelToClass = new Map(classes.map((c) => [attributeLabel(dataset.format, c) ?? c, c]));
    for (const r of records) byClass.get(labelToClass.get(r.label) ?? '')?.push(r);
    for (const attribute of dataset.attributes) {
      if ((byClass.get(attribute)?.length ?? 0) === 0) {
        throw new DatasetError(
          'RDLAB_DATA_EMPTY',
          `dataset '${dataset.name}' (${dataset.source}), split '${split}': no sentences with label '${attributeLabel(dataset.format, attribute)}' (attribute '${attribute}')`,
        );
      }
    }
    return byClass;
  };
  const [train, evaluation] = await Promise.all([
    readSplit(dataset.trainSplit),
    readSplit(dataset.evalSplit),
  ]);
  return {
    name: dataset.name,
    classes,
    train: group(train, dataset.trainSplit),
    eval: group(evaluation, dataset.evalSplit),
  };
}
