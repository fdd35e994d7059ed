/**
 * BERT's WordPiece tokenizer from a bare `vocab.txt` (one token per line, the id its line
 * number), as the original Google BERT releases ship it: the tokenizer.json object that
 * transformers' BertTokenizerFast converter writes for it — BertNormalizer (lowercasing and accent
 * stripping when uncased), BertPreTokenizer, a WordPiece model with the `##` continuing prefix
 * and TemplateProcessing `[CLS] $A [SEP]` (`[CLS] $A [SEP] $B:1 [SEP]:1` for pairs) — for
 * `HfTokenizer.fromJson` to load through @huggingface/tokenizers.
 */
import { ModelFileError } from '../errors.js';

export const VOCAB_FILE = 'vocab.txt';

export interface WordPieceOptions {
  /** Lowercase (and, with `stripAccents` unset, strip accents): bert-base-uncased. @defaultValue true */
  lowercase?: boolean;
  /** Strip accents; null follows `lowercase` (BertNormalizer's rule). @defaultValue null */
  stripAccents?: boolean | null;
  /** Where the vocabulary came from, for errors. @defaultValue 'vocab.txt' */
  source?: string;
}

const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The tokenizer.json object of a WordPiece vocabulary (the text of vocab.txt). */
export function wordPieceTokenizerJson(
  vocabText: string,
  options: WordPieceOptions = {},
): Record<string, unknown> {
  const source = options.source ?? VOCAB_FILE;
  const lines = vocabText.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  // transformers' load_vocab: token → line index (a repeated token keeps its last line).
  const vocab: Record<string, number> = {};
  lines.forEach((token, id) => {
    vocab[token] = id;
  });
  for (const token of ['[UNK]', '[CLS]', '[SEP]'])
    if (vocab[token] === undefined)
      throw new ModelFileError(
        'RDLAB_TOKENIZER_MALFORMED',
        source,
        `has no ${token} token, which BERT's WordPiece needs`,
      );
  const id = (token: string) => vocab[token] as number;
  const special = (token: string) => ({ id: token, ids: [id(token)], tokens: [token] });
  const piece = (kind: 'SpecialToken' | 'Sequence', name: string, typeId: number) => ({
    [kind]: { id: name, type_id: typeId },
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.filter((t) => vocab[t] !== undefined).map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: options.stripAccents ?? null,
      lowercase: options.lowercase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        piece('SpecialToken', '[CLS]', 0),
        piece('Sequence', 'A', 0),
        piece('SpecialToken', '[SEP]', 0),
      ],
      pair: [
        piece('SpecialToken', '[CLS]', 0),
        piece('Sequence', 'A', 0),
        piece('SpecialToken', '[SEP]', 0),
        piece('Sequence', 'B', 1),
        piece('SpecialToken', '[SEP]', 1),
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}
