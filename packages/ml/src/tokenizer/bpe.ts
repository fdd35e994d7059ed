/**
 * A GPT-2 byte-level BPE tokenizer: reads `vocab.json` + `merges.txt` or a Hugging Face
 * `tokenizer.json`, writes `vocab.json` + `merges.txt`, and encodes the way GPT-2's
 * `encoder.py` does (lowest-rank pair first, every occurrence merged).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromByteLevel, pretokenize } from './byte-level.js';

export const END_OF_TEXT = '<|endoftext|>';

export class BpeTokenizer {
  /** token string → id */
  readonly vocab: ReadonlyMap<string, number>;
  /** id → token string */
  readonly tokens: readonly string[];
  /** merges in priority order, as `a b` */
  readonly merges: readonly string[];
  /** The end-of-text id: ends generations and pads batches (as in GPT-2). */
  readonly eosId: number;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: ReadonlyMap<string, number>, merges: readonly string[]) {
    this.vocab = vocab;
    this.merges = merges;
    this.ranks = new Map(merges.map((m, i) => [m, i]));
    const tokens: string[] = [];
    for (const [token, id] of vocab) tokens[id] = token;
    this.tokens = tokens;
    const eos = vocab.get(END_OF_TEXT);
    if (eos === undefined) throw new Error(`tokenizer: the vocabulary has no ${END_OF_TEXT} token`);
    this.eosId = eos;
  }

  get vocabSize(): number {
    return this.tokens.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of pretokenize(text)) {
      for (const id of this.encodePiece(piece)) ids.push(id);
    }
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    let symbols = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (id === this.eosId) continue;
      symbols += this.tokens[id] ?? '';
    }
    return fromByteLevel(symbols);
  }

  /** BPE on one pre-tokenised piece (already byte-level). */
  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let word = Array.from(piece);
    while (word.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best] as string;
      const b = word[best + 1] as string;
      word = mergePair(word, a, b);
    }
    const ids = word.map((symbol) => {
      const id = this.vocab.get(symbol);
      if (id === undefined)
        throw new Error(`tokenizer: symbol '${symbol}' is not in the vocabulary`);
      return id;
    });
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    return ids;
  }

  /** The JSON a checkpoint stores: GPT-2's two files, as one object. */
  toJSON(): { vocab: Record<string, number>; merges: string[] } {
    return { vocab: Object.fromEntries(this.vocab), merges: [...this.merges] };
  }

  static fromJSON(json: { vocab: Record<string, number>; merges: string[] }): BpeTokenizer {
    return new BpeTokenizer(new Map(Object.entries(json.vocab)), json.merges);
  }

  /** Writes `vocab.json` and `merges.txt` (GPT-2's layout) into `dir`. */
  async save(dir: string): Promise<void> {
    await writeFile(join(dir, 'vocab.json'), JSON.stringify(Object.fromEntries(this.vocab)));
    await writeFile(join(dir, 'merges.txt'), `#version: 0.2\n${this.merges.join('\n')}\n`);
  }

  /** Reads `tokenizer.json`, or `vocab.json` + `merges.txt`, from `dir`. */
  static async load(dir: string): Promise<BpeTokenizer> {
    const tokenizerJson = await readFile(join(dir, 'tokenizer.json'), 'utf8').catch(() => null);
    if (tokenizerJson !== null) return BpeTokenizer.fromHuggingFace(JSON.parse(tokenizerJson));
    let vocabText: string;
    let mergesText: string;
    try {
      [vocabText, mergesText] = await Promise.all([
        readFile(join(dir, 'vocab.json'), 'utf8'),
        readFile(join(dir, 'merges.txt'), 'utf8'),
      ]);
    } catch {
      throw new Error(`tokenizer: ${dir} has neither tokenizer.json nor vocab.json + merges.txt`);
    }
    return new BpeTokenizer(
      new Map(Object.entries(JSON.parse(vocabText) as Record<string, number>)),
      parseMerges(mergesText),
    );
  }

  /** A Hugging Face `tokenizer.json` of a byte-level BPE model. */
  static fromHuggingFace(json: {
    model?: {
      type?: string;
      vocab?: Record<string, number>;
      merges?: Array<string | [string, string]>;
    };
    added_tokens?: Array<{ id: number; content: string }>;
  }): BpeTokenizer {
    const model = json.model;
    if (!model?.vocab || !model.merges || (model.type !== undefined && model.type !== 'BPE')) {
      throw new Error('tokenizer: tokenizer.json must hold a BPE model with vocab and merges');
    }
    const vocab = new Map(Object.entries(model.vocab));
    for (const t of json.added_tokens ?? []) vocab.set(t.content, t.id);
    return new BpeTokenizer(
      vocab,
      model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m)),
    );
  }
}

/** Replaces every non-overlapping `a b`, left to right, with `ab` (GPT-2's merge step). */
export function mergePair(symbols: readonly string[], a: string, b: string): string[] {
  const merged: string[] = [];
  for (let i = 0; i < symbols.length; i++) {
    if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
      merged.push(a + b);
      i += 1;
    } else merged.push(symbols[i] as string);
  }
  return merged;
}

export function parseMerges(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#version'))
    .map((line) => line.replace(/\r$/, ''));
}
