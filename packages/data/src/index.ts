/**
 * @rdlab/data: datasets as users have them, read into sentences per attribute; the built-in
 * demo corpus; seeded prefix selection.
 *
 * ```ts
 * import { resolveDataset } from '@rdlab/core';
 * import { loadDataset } from '@rdlab/data';
 *
 * const yelp = await loadDataset(resolveDataset({ name: 'yelp', source: '../shared/datasets/yelp', format: 'yelp-style-transfer', attributes: ['negative', 'positive'], trainSplit: 'train' }));
 * console.log(yelp.train.get('positive')?.length);
 * ```
 */
export { type CsvRow, parseCsv } from './csv.js';
export { type LoadedDataset, loadDataset } from './dataset.js';
export { demoSplit } from './demo.js';
export { DatasetError } from './errors.js';
export {
  cleanNewsText,
  newsSentence,
  newsTitle,
  parseSplitFile,
  splitFiles,
  type TextRecord,
} from './formats.js';
export { type Prefix, type PrefixSelection, selectPrefixes } from './selection.js';
export { type OpenSource, openSource, type S3Like, type SourceOptions } from './source.js';
