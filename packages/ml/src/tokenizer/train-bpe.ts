/**
 * Training a small byte-level BPE vocabulary from a corpus, for the presets trained from
 * scratch. Deterministic: the most frequent pair wins; ties go to the pair that sorts first.
 */

import { BpeTokenizer, END_OF_TEXT, mergePair } from './bpe.js';
import { BYTE_TO_CHAR, pretokenize } from './byte-level.js';

/**
 * A tokenizer of `vocabSize` tokens: the 256 bytes, merges learned from `corpus`, and
 * `<|endoftext|>` last (as in GPT-2).
 */
export function trainBpe(corpus: Iterable<string>, vocabSize: number): BpeTokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize < 257)
    throw new RangeError(`trainBpe: vocabSize must be an integer ≥ 257, got ${vocabSize}`);
  const wordCounts = new Map<string, number>();
  for (const text of corpus)
    for (const piece of pretokenize(text)) wordCounts.set(piece, (wordCounts.get(piece) ?? 0) + 1);

  // Words as symbol arrays, pair counts, and the words each pair occurs in.
  const words = [...wordCounts.keys()].sort();
  const counts = words.map((w) => wordCounts.get(w) as number);
  const symbols = words.map((w) => Array.from(w));
  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (w: number, sign: 1 | -1) => {
    const s = symbols[w] as string[];
    for (let i = 0; i < s.length - 1; i++) {
      const pair = `${s[i]} ${s[i + 1]}`;
      pairCount.set(pair, (pairCount.get(pair) ?? 0) + sign * (counts[w] as number));
      if (sign > 0) {
        const set = pairWords.get(pair);
        if (set) set.add(w);
        else pairWords.set(pair, new Set([w]));
      }
    }
  };
  for (let w = 0; w < words.length; w++) addPairs(w, 1);

  const vocab = new Map<string, number>(BYTE_TO_CHAR.map((c, i) => [c, i]));
  const merges: string[] = [];
  while (vocab.size < vocabSize - 1) {
    let best: string | undefined;
    let bestCount = 0;
    for (const [pair, count] of pairCount) {
      if (
        count > bestCount ||
        (count === bestCount && count > 0 && best !== undefined && pair < best)
      ) {
        best = pair;
        bestCount = count;
      }
    }
    if (best === undefined || bestCount <= 0) break; // the corpus has no pair left to merge
    const [a, b] = best.split(' ') as [string, string];
    merges.push(best);
    vocab.set(a + b, vocab.size);
    for (const w of pairWords.get(best) ?? []) {
      addPairs(w, -1);
      symbols[w] = mergePair(symbols[w] as string[], a, b);
      addPairs(w, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
  }
  vocab.set(END_OF_TEXT, vocab.size);
  return new BpeTokenizer(vocab, merges);
}
