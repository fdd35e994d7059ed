/**
 * The tokenizer interface the pipeline relies on: text ↔ ids, the vocabulary size and the
 * end-of-text id. {@link BpeTokenizer} (the in-house byte-level BPE) and {@link HfTokenizer}
 * (any Hugging Face `tokenizer.json`) both satisfy it.
 */
export interface TextTokenizer {
  /** One more than the largest id (the LM's embedding rows must cover it). */
  readonly vocabSize: number;
  /** The id that ends generations (and, where the model has no pad token, pads batches). */
  readonly eosId: number;
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
}
