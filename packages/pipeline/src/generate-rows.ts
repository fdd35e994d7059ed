/**
 * Generation from prefixes of different lengths: β's fixed-length prefixes re-encoded by π's
 * tokenizer seldom keep one length, and `generate` takes `[B, p]`. Prefixes are grouped by length
 * (first-seen order), each group generated in one call, and the rows come back in input order.
 */
import { generate, generatedRows, type LanguageModel, type SamplingOptions } from '@rdlab/ml';

export interface GeneratedRow {
  /** Prefix, then the generated tokens (an end-of-text included). */
  tokens: Int32Array;
  /** `tokens` without a final end-of-text: what R reads. */
  words: Int32Array;
  prefixLength: number;
}

export function generateRows(
  model: LanguageModel,
  prefixes: ArrayLike<number>[],
  options: SamplingOptions,
): GeneratedRow[] {
  const groups = new Map<number, number[]>();
  prefixes.forEach((ids, i) => {
    const group = groups.get(ids.length) ?? [];
    group.push(i);
    groups.set(ids.length, group);
  });
  const rows: GeneratedRow[] = new Array(prefixes.length);
  for (const [p, members] of groups) {
    const ids = new Int32Array(members.length * p);
    members.forEach((i, b) => {
      ids.set(prefixes[i] as ArrayLike<number>, b * p);
    });
    // A re-encoded prefix may be longer than β's; each still gets room for a token.
    const gen = generate(model, ids, members.length, {
      ...options,
      maxLength: Math.max(options.maxLength, p + 1),
    });
    generatedRows(gen, options.eosId).forEach((row, b) => {
      rows[members[b] as number] = { tokens: row.tokens, words: row.words, prefixLength: p };
    });
  }
  return rows;
}
