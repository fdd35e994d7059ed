/**
 * BERT's WordPiece from a bare vocab.txt (built into a tokenizer.json object and loaded through
 * @huggingface/tokenizers), against the same vocabulary given as a tokenizer.json.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ModelFileError } from '../errors.js';
import { HfTokenizer, loadHfTokenizer, loadWordPieceTokenizer } from './hf-tokenizer.js';
import { wordPieceTokenizerJson } from './wordpiece.js';

const WORDS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '!'];
WORDS.push('un', '##aff', '##able', ',', 'Hello', 'the', '##re');

async function folder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rdlab-wordpiece-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('WordPiece from vocab.txt', () => {
  it('uncased (the default): [CLS] … [SEP], ## pieces, accents stripped, [UNK]', async () => {
    const dir = await folder({ 'vocab.txt': `${WORDS.join('\n')}\n` });
    for (const tok of [await loadHfTokenizer(dir), await loadWordPieceTokenizer(dir)]) {
      assert.equal(tok.modelType, 'WordPiece');
      assert.equal(tok.vocabSize, WORDS.length);
      // Hello → hello (lowercased, so the cased 'Hello' entry is never used), wörld → world
      assert.deepEqual(
        tok.encode('Hello, UNAFFABLE wörld there zzz!'),
        [2, 5, 11, 8, 9, 10, 6, 13, 14, 1, 7, 3],
      );
      assert.deepEqual(tok.tokenize('unaffable!'), [
        '[CLS]',
        'un',
        '##aff',
        '##able',
        '!',
        '[SEP]',
      ]);
      assert.deepEqual(tok.encode('hello', { addSpecialTokens: false }), [5]);
      assert.equal(tok.decode([2, 5, 11, 8, 9, 10, 6, 7, 3]), 'hello, unaffable world!');
      assert.deepEqual(
        { cls: tok.specialIds.cls, sep: tok.specialIds.sep, pad: tok.specialIds.pad },
        { cls: 2, sep: 3, pad: 0 },
      );
    }
  });

  it('gives the ids of the same vocabulary written as a BertProcessing tokenizer.json', () => {
    const fromVocab = HfTokenizer.fromJson(wordPieceTokenizerJson(WORDS.join('\n')));
    const vocab = Object.fromEntries(WORDS.map((w, i) => [w, i]));
    const handWritten = HfTokenizer.fromJson({
      added_tokens: [0, 1, 2, 3, 4].map((id) => ({
        id,
        content: WORDS[id],
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
        strip_accents: null,
        lowercase: true,
      },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 100,
        vocab,
      },
    });
    for (const text of ['Hello there, world!', 'un-aff-able [MASK] x', '  ', 'HELLO!!'])
      assert.deepEqual(fromVocab.encode(text), handWritten.encode(text), text);
  });

  it('do_lower_case false in tokenizer_config.json keeps case', async () => {
    const dir = await folder({
      'vocab.txt': WORDS.join('\n'),
      'tokenizer_config.json': JSON.stringify({ do_lower_case: false }),
    });
    const tok = await loadHfTokenizer(dir);
    assert.deepEqual(tok.encode('Hello hello'), [2, 12, 5, 3]);
  });

  it('a vocabulary without [UNK] is refused naming the file; no files at all names tokenizer.json', async () => {
    const dir = await folder({ 'vocab.txt': 'hello\n[CLS]\n[SEP]\n' });
    await assert.rejects(loadHfTokenizer(dir), (e: ModelFileError) => {
      assert.equal(e.code, 'RDLAB_TOKENIZER_MALFORMED');
      assert.match(e.message, /vocab\.txt: has no \[UNK\] token/);
      return true;
    });
    const empty = await folder({});
    await assert.rejects(loadHfTokenizer(empty), /RDLAB_TOKENIZER_MISSING: .*tokenizer\.json/);
    await assert.rejects(loadWordPieceTokenizer(empty), /RDLAB_TOKENIZER_MISSING: .*vocab\.txt/);
  });
});
