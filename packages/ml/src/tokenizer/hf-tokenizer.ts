/**
 * Hugging Face tokenizers from a checkpoint folder's `tokenizer.json` (+ `tokenizer_config.json`
 * when present), through `@huggingface/tokenizers`: GPT-2's byte-level BPE, OPT's (GPT-2 merges,
 * other ids, `</s>` prepended by its post-processor), XGLM's SentencePiece Unigram, BERT's
 * WordPiece. Owns loading, the special ids (eos/bos/pad/unk/cls/sep) and the tokenizer's identity
 * (a SHA-256 of its files), so shards can record which tokenizer made them.
 *
 * ```ts
 * const tok = await loadHfTokenizer('/models/opt-125m');
 * tok.encode('Hello world'); // [2, 31414, 232]: `</s>` first, as OPT was trained
 * tok.decode([2, 31414, 232]); // 'Hello world' (special tokens skipped)
 * tok.identity; // sha256 hex of tokenizer.json (+ tokenizer_config.json)
 * ```
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelFileError } from '../errors.js';
import type { TextTokenizer } from './text-tokenizer.js';
import { VOCAB_FILE, wordPieceTokenizerJson } from './wordpiece.js';

export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** The special tokens a model uses, by role: each id, or null when the tokenizer has none. */
export interface SpecialIds {
  eos: number | null;
  bos: number | null;
  pad: number | null;
  unk: number | null;
  cls: number | null;
  sep: number | null;
}

type Role = keyof SpecialIds;

/** Token strings tried, in order, for a role that tokenizer_config.json does not name. */
const FALLBACK_TOKENS: Record<Role, string[]> = {
  eos: ['</s>', '<|endoftext|>', '[SEP]', '<eos>'],
  bos: ['<s>', '<|endoftext|>', '[CLS]', '<bos>'],
  pad: ['<pad>', '[PAD]'],
  unk: ['<unk>', '[UNK]'],
  cls: ['[CLS]', '<s>'],
  sep: ['[SEP]', '</s>'],
};

export interface EncodeOptions {
  /** Add the post-processor's special tokens (OPT's and XGLM's `</s>`, BERT's [CLS] … [SEP]). @defaultValue true */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens out of the text. @defaultValue true */
  skipSpecialTokens?: boolean;
}

export class HfTokenizer implements TextTokenizer {
  readonly vocabSize: number;
  /** The end-of-text id (`</s>`, `<|endoftext|>`, or BERT's [SEP]). */
  readonly eosId: number;
  readonly specialIds: Readonly<SpecialIds>;
  /** The model type of tokenizer.json: BPE, WordPiece, Unigram. */
  readonly modelType: string;
  /**
   * A stable identity: SHA-256 (hex) of tokenizer.json's bytes, or, with a tokenizer_config.json,
   * of `sha256(tokenizer.json) + '\n' + sha256(tokenizer_config.json)`.
   */
  readonly identity: string;

  private constructor(
    private readonly inner: Tokenizer,
    json: Record<string, unknown>,
    config: Record<string, unknown>,
    identity: string,
    source: string,
  ) {
    this.identity = identity;
    this.modelType = String((json.model as { type?: unknown } | undefined)?.type ?? 'unknown');
    let maxId = -1;
    for (const id of inner.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const ids = {} as SpecialIds;
    for (const role of Object.keys(FALLBACK_TOKENS) as Role[]) {
      const named = tokenContent(config[`${role}_token`]);
      const candidates = named !== null ? [named] : FALLBACK_TOKENS[role];
      ids[role] = null;
      for (const token of candidates) {
        const id = inner.token_to_id(token);
        if (id !== undefined) {
          ids[role] = id;
          break;
        }
      }
    }
    this.specialIds = Object.freeze(ids);
    if (ids.eos === null)
      throw new ModelFileError(
        'RDLAB_TOKENIZER_MALFORMED',
        source,
        `no end-of-text token: tokenizer_config.json names no eos_token and the vocabulary has none of ${FALLBACK_TOKENS.eos.join(', ')}`,
      );
    this.eosId = ids.eos;
  }

  /**
   * A tokenizer from parsed tokenizer.json (and tokenizer_config.json) objects. `identity`
   * defaults to a hash of the objects' JSON; {@link loadHfTokenizer} hashes the files' bytes.
   */
  static fromJson(
    json: unknown,
    config: unknown = {},
    options: { identity?: string; source?: string } = {},
  ): HfTokenizer {
    const source = options.source ?? TOKENIZER_FILE;
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new ModelFileError('RDLAB_TOKENIZER_MALFORMED', source, 'not a JSON object');
    const model = (json as { model?: { type?: unknown } }).model;
    if (typeof model !== 'object' || model === null)
      throw new ModelFileError('RDLAB_TOKENIZER_MALFORMED', source, 'has no "model" object');
    const full: Record<string, unknown> = {
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
      ...(json as Record<string, unknown>),
    };
    const cfg = (typeof config === 'object' && config !== null ? config : {}) as Record<
      string,
      unknown
    >;
    let inner: Tokenizer;
    try {
      inner = new Tokenizer(full, cfg);
    } catch (error) {
      throw new ModelFileError(
        'RDLAB_TOKENIZER_MALFORMED',
        source,
        `cannot build a tokenizer (${(error as Error).message})`,
      );
    }
    const identity =
      options.identity ??
      sha256Hex(JSON.stringify(json) + (config ? `\n${JSON.stringify(config)}` : ''));
    return new HfTokenizer(inner, full, cfg, identity, source);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    // `@huggingface/tokenizers` rejects an empty array; an empty continuation is ''.
    if (ids.length === 0) return '';
    return this.inner.decode(Array.from(ids), {
      skip_special_tokens: options.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: false,
    });
  }

  /** The token strings of `text` (after the post-processor). */
  tokenize(text: string, options: EncodeOptions = {}): string[] {
    return this.inner.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).tokens;
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.inner.id_to_token(id);
  }
}

/**
 * Loads `dir/tokenizer.json` and, when present, `dir/tokenizer_config.json`. Errors
 * (`RDLAB_TOKENIZER_MISSING`, `RDLAB_TOKENIZER_MALFORMED`) name the file.
 */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  const path = join(dir, TOKENIZER_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A Google-style BERT folder ships only vocab.txt: build its WordPiece tokenizer.json.
    if (code === 'ENOENT') {
      const vocab = await readFile(join(dir, VOCAB_FILE)).catch(() => null);
      if (vocab !== null) return wordPieceFromVocab(dir, vocab);
    }
    throw new ModelFileError(
      'RDLAB_TOKENIZER_MISSING',
      path,
      code === 'ENOENT' ? 'no such file' : (error as Error).message,
    );
  }
  const json = parseJson(bytes, path);
  const configPath = join(dir, TOKENIZER_CONFIG_FILE);
  const configBytes = await readFile(configPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw new ModelFileError('RDLAB_TOKENIZER_MALFORMED', configPath, error.message);
  });
  const config = configBytes === null ? {} : parseJson(configBytes, configPath);
  const identity =
    configBytes === null
      ? sha256Hex(bytes)
      : sha256Hex(`${sha256Hex(bytes)}\n${sha256Hex(configBytes)}`);
  return HfTokenizer.fromJson(json, config, { identity, source: path });
}

/**
 * BERT's WordPiece from `dir/vocab.txt` (`wordPieceTokenizerJson`); tokenizer_config.json's
 * `do_lower_case` (default true, bert-base-uncased) and `strip_accents` apply. The identity hashes
 * vocab.txt (and tokenizer_config.json) as loadHfTokenizer hashes tokenizer.json.
 */
export async function loadWordPieceTokenizer(dir: string): Promise<HfTokenizer> {
  const path = join(dir, VOCAB_FILE);
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new ModelFileError(
      'RDLAB_TOKENIZER_MISSING',
      path,
      error.code === 'ENOENT' ? 'no such file' : error.message,
    );
  });
  return wordPieceFromVocab(dir, bytes);
}

async function wordPieceFromVocab(dir: string, bytes: Uint8Array): Promise<HfTokenizer> {
  const path = join(dir, VOCAB_FILE);
  const configPath = join(dir, TOKENIZER_CONFIG_FILE);
  const configBytes = await readFile(configPath).catch(() => null);
  const config = (configBytes === null ? {} : parseJson(configBytes, configPath)) as Record<
    string,
    unknown
  >;
  const json = wordPieceTokenizerJson(new TextDecoder().decode(bytes), {
    lowercase: config.do_lower_case !== false,
    stripAccents: typeof config.strip_accents === 'boolean' ? config.strip_accents : null,
    source: path,
  });
  const identity =
    configBytes === null
      ? sha256Hex(bytes)
      : sha256Hex(`${sha256Hex(bytes)}\n${sha256Hex(configBytes)}`);
  return HfTokenizer.fromJson(json, config, { identity, source: path });
}

function parseJson(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new ModelFileError(
      'RDLAB_TOKENIZER_MALFORMED',
      path,
      `not valid JSON (${(error as Error).message})`,
    );
  }
}

/** A tokenizer_config.json token entry: a string or `{content}` (an AddedToken). */
function tokenContent(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const content = (value as { content?: unknown }).content;
    if (typeof content === 'string') return content;
  }
  return null;
}

function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
