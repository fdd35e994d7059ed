/**
 * The in-house byte-level BPE ({@link BpeTokenizer}, as {@link trainBpe} makes for the presets)
 * written as a Hugging Face `tokenizer.json`: GPT-2's layout (BPE model, ByteLevel pre-tokenizer,
 * post-processor and decoder, `<|endoftext|>` an added special token), so `@huggingface/tokenizers`
 * (and Python's `tokenizers`) encode text to the same ids. Tested on the yelp and AG News texts.
 */
import type { BpeTokenizer } from './bpe.js';
import { END_OF_TEXT } from './bpe.js';

export function bpeTokenizerJson(tokenizer: BpeTokenizer): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  for (const [token, id] of tokenizer.vocab) if (token !== END_OF_TEXT) vocab[token] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: tokenizer.eosId,
        content: END_OF_TEXT,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: {
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    },
    post_processor: {
      type: 'ByteLevel',
      add_prefix_space: true,
      trim_offsets: false,
      use_regex: true,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: tokenizer.merges.map((m) => m.split(' ')),
    },
  };
}

/** The tokenizer_config.json that goes with {@link bpeTokenizerJson} (GPT-2's special tokens). */
export function bpeTokenizerConfigJson(): Record<string, unknown> {
  return {
    bos_token: END_OF_TEXT,
    eos_token: END_OF_TEXT,
    unk_token: END_OF_TEXT,
    model_max_length: 1024,
    tokenizer_class: 'GPT2Tokenizer',
  };
}
