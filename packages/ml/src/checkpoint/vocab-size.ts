/**
 * How many tokens a checkpoint's own tokenizer has, from its files alone (no tokenizer library):
 * tokenizer.json, else the in-house vocab.json.
 */
import type { ReferenceFiles } from './reference-files.js';

/**
 * From tokenizer.json (largest id of the model's vocabulary and its added tokens, plus one) or
 * vocab.json; null when it has neither. Throws when the one it reads is not JSON.
 */
export async function tokenizerVocabSizeOf(
  files: Pick<ReferenceFiles, 'text'>,
): Promise<number | null> {
  const text = await files.text('tokenizer.json');
  if (text !== null) {
    const json = JSON.parse(text) as {
      model?: { vocab?: Record<string, number> | Array<unknown> };
      added_tokens?: Array<{ id?: number }>;
    };
    const vocab = json.model?.vocab;
    let max = -1;
    if (Array.isArray(vocab))
      max = vocab.length - 1; // Unigram: [piece, score] rows
    else for (const id of Object.values(vocab ?? {})) if (id > max) max = id;
    for (const t of json.added_tokens ?? []) if ((t.id ?? -1) > max) max = t.id as number;
    return max + 1;
  }
  const vocabText = await files.text('vocab.json');
  if (vocabText === null) return null;
  return Math.max(-1, ...Object.values(JSON.parse(vocabText) as Record<string, number>)) + 1;
}
