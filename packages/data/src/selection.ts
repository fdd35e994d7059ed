/**
 * Seeded selection of sentences and prefixes (§6): sentences longer than the total length are
 * dropped, N are drawn per attribute, and each gives its first p tokens as a prefix. Evaluation
 * prefixes come from the evaluation split and never repeat a training sentence.
 */
import { createRng } from '@rdlab/core';
import type { TextRecord } from './formats.js';

export interface Prefix {
  /** The first `prefixLength` tokens. */
  ids: number[];
  /** The whole sentence's tokens (the reference for BLEU, ROUGE and METEOR). */
  sentenceIds: number[];
  text: string;
  origin: string;
}

export interface PrefixSelection {
  prefixes: Prefix[];
  /** Sentences read, kept by the length rule, and available to draw from. */
  counts: { read: number; fitting: number };
}

/**
 * `count` prefixes of `prefixLength` tokens from sentences of at most `maxLength` tokens (and
 * more than `prefixLength`), drawn without replacement in seeded order; with fewer sentences than
 * `count`, every fitting sentence once. `exclude` holds texts that must not be drawn.
 */
export function selectPrefixes(
  records: readonly TextRecord[],
  encode: (text: string) => number[],
  options: {
    count: number;
    prefixLength: number;
    maxLength: number;
    seed: number | string;
    label: string;
    exclude?: ReadonlySet<string>;
  },
): PrefixSelection {
  const rng = createRng(options.seed, 'prefixes', options.label);
  const order = rng.shuffle(Array.from({ length: records.length }, (_, i) => i));
  const prefixes: Prefix[] = [];
  let fitting = 0;
  const seen = new Set<string>();
  for (const i of order) {
    const record = records[i] as TextRecord;
    if (options.exclude?.has(record.text) || seen.has(record.text)) continue;
    const ids = encode(record.text);
    if (ids.length > options.maxLength || ids.length <= options.prefixLength) continue;
    fitting += 1;
    seen.add(record.text);
    if (prefixes.length < options.count)
      prefixes.push({
        ids: ids.slice(0, options.prefixLength),
        sentenceIds: ids,
        text: record.text,
        origin: record.origin,
      });
    if (prefixes.length >= options.count) break;
  }
  return { prefixes, counts: { read: records.length, fitting } };
}
