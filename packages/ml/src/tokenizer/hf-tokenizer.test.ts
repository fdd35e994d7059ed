import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelFileError } from '../errors.js';
import { sharedPath, skipWithout } from '../test-support.js';
import { BpeTokenizer, END_OF_TEXT } from './bpe.js';
import { BYTE_TO_CHAR } from './byte-level.js';
import { bpeTokenizerConfigJson, bpeTokenizerJson } from './export-hf.js';
import { HfTokenizer, loadHfTokenizer } from './hf-tokenizer.js';
import { trainBpe } from './train-bpe.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rdlab-hf-tok-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(name: string, files: Record<string, unknown>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, content] of Object.entries(files))
    await writeFile(
      join(dir, file),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  return dir;
}

const MERGES = ['Ġ t', 'h e', 'Ġt he', 'l l'];
const byteLevel = {
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: true,
};
const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** GPT-2 style: id = byte value for the 256 byte symbols, then merges, then `<|endoftext|>`. */
function gpt2Json(offset = 0, extraSpecial: Array<[number, string]> = []) {
  const vocab: Record<string, number> = {};
  BYTE_TO_CHAR.forEach((c, b) => {
    vocab[c] = b + offset;
  });
  MERGES.forEach((m, i) => {
    vocab[m.replace(' ', '')] = 256 + offset + i;
  });
  const eos = 256 + offset + MERGES.length;
  if (offset === 0) vocab[END_OF_TEXT] = eos;
  for (const [id, content] of extraSpecial) vocab[content] = id;
  return {
    version: '1.0',
    added_tokens:
      offset === 0 ? [special(eos, END_OF_TEXT)] : extraSpecial.map(([id, c]) => special(id, c)),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, vocab, merges: MERGES },
  };
}

const TEXT = 'Hello, the world! héllo ☃';
// "Hello" "," " the" " world" "!" " héllo" " ☃", by hand from the merges above.
const GPT2_IDS = [72, 101, 259, 111, 44, 258, 32, 119, 111, 114, 108, 100, 33];
GPT2_IDS.push(32, 104, 195, 169, 259, 111, 32, 226, 152, 131);

describe('HfTokenizer', () => {
  it('GPT-2 byte-level BPE: exact ids, the in-house encoder agrees, decode round-trips', async () => {
    const tok = await loadHfTokenizer(await folder('gpt2', { 'tokenizer.json': gpt2Json() }));
    assert.deepEqual(tok.encode(TEXT), GPT2_IDS);
    const inHouse = BpeTokenizer.fromHuggingFace(gpt2Json());
    assert.deepEqual(inHouse.encode(TEXT), GPT2_IDS);
    assert.equal(tok.decode(GPT2_IDS), TEXT);
    assert.equal(tok.modelType, 'BPE');
    assert.equal(tok.vocabSize, 261);
    assert.equal(tok.eosId, 260);
    assert.equal(tok.specialIds.bos, 260); // <|endoftext|> is GPT-2's bos too
    assert.equal(tok.specialIds.pad, null);
    assert.equal(tok.decode([...GPT2_IDS, 260]), TEXT);
    assert.match(tok.identity, /^[0-9a-f]{64}$/);
  });

  it('OPT style: other ids, `</s>` prepended by a TemplateProcessing post-processor', async () => {
    const json = {
      ...gpt2Json(4, [
        [0, '<s>'],
        [1, '<pad>'],
        [2, '</s>'],
        [3, '<unk>'],
      ]),
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        pair: [
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      },
    };
    const config = { bos_token: '</s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>' };
    const dir = await folder('opt', { 'tokenizer.json': json, 'tokenizer_config.json': config });
    const tok = await loadHfTokenizer(dir);
    const ids = tok.encode(TEXT);
    assert.deepEqual(ids, [2, ...GPT2_IDS.map((id) => id + 4)]);
    assert.deepEqual(tok.encode(TEXT, { addSpecialTokens: false }), ids.slice(1));
    assert.deepEqual(
      { eos: tok.eosId, bos: tok.specialIds.bos, pad: tok.specialIds.pad },
      { eos: 2, bos: 2, pad: 1 },
    );
    assert.equal(tok.decode(ids), TEXT);
    assert.equal(tok.decode(ids, { skipSpecialTokens: false }), `</s>${TEXT}`);
    // The config is part of the identity.
    const noConfig = await loadHfTokenizer(await folder('opt2', { 'tokenizer.json': json }));
    assert.notEqual(noConfig.identity, tok.identity);
  });

  it('XGLM style: SentencePiece Unigram with Metaspace, `</s>` prepended', async () => {
    const pieces: Array<[string, number]> = [
      ['<s>', 0],
      ['<pad>', 0],
      ['</s>', 0],
      ['<unk>', 0],
      ['▁', -2],
      ['▁hello', -1],
      ['▁world', -1.5],
      ['▁wor', -4],
      ['ld', -4],
      ['h', -3],
      ['e', -3],
      ['l', -3],
      ['o', -3],
      ['w', -3],
      ['r', -3],
      ['d', -3],
    ];
    const metaspace = {
      type: 'Metaspace',
      replacement: '▁',
      prepend_scheme: 'always',
      split: true,
    };
    const json = {
      version: '1.0',
      added_tokens: [0, 1, 2, 3].map((id) => special(id, pieces[id]?.[0] as string)),
      normalizer: null,
      pre_tokenizer: metaspace,
      post_processor: {
        type: 'TemplateProcessing',
        single: [
          { SpecialToken: { id: '</s>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
        ],
        pair: [],
        special_tokens: { '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
      },
      decoder: metaspace,
      model: { type: 'Unigram', unk_id: 3, vocab: pieces, byte_fallback: false },
    };
    const tok = await loadHfTokenizer(await folder('xglm', { 'tokenizer.json': json }));
    assert.deepEqual(tok.encode('hello world hello'), [2, 5, 6, 5]);
    assert.deepEqual(tok.tokenize('hello world'), ['</s>', '▁hello', '▁world']);
    assert.deepEqual(tok.encode('hello old'), [2, 5, 4, 12, 8]); // ▁ o ld beats ▁ o l d
    assert.deepEqual(tok.encode('hello z'), [2, 5, 4, 3]); // z is unknown
    assert.equal(tok.decode([2, 5, 6, 5]), 'hello world hello');
    assert.deepEqual(
      { eos: tok.eosId, bos: tok.specialIds.bos, pad: tok.specialIds.pad, unk: tok.specialIds.unk },
      { eos: 2, bos: 0, pad: 1, unk: 3 },
    );
    assert.equal(tok.modelType, 'Unigram');
    assert.equal(tok.vocabSize, pieces.length);
  });

  it('BERT style: WordPiece uncased, [CLS] … [SEP]', async () => {
    const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'hello', 'world', '!'];
    words.push('un', '##aff', '##able', ',');
    const vocab = Object.fromEntries(words.map((w, i) => [w, i]));
    const json = {
      version: '1.0',
      added_tokens: [0, 1, 2, 3, 4].map((id) => special(id, words[id] as string)),
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
    };
    const tok = await loadHfTokenizer(await folder('bert', { 'tokenizer.json': json }));
    const ids = tok.encode('Hello, UNAFFABLE wörld World!');
    // lowercase with strip_accents unset strips accents too (as BERT uncased does): wörld → world
    assert.deepEqual(ids, [2, 5, 11, 8, 9, 10, 6, 6, 7, 3]);
    assert.equal(tok.decode([2, 5, 11, 8, 9, 10, 6, 7, 3]), 'hello, unaffable world!');
    assert.deepEqual(
      { cls: tok.specialIds.cls, sep: tok.specialIds.sep, pad: tok.specialIds.pad, eos: tok.eosId },
      { cls: 2, sep: 3, pad: 0, eos: 3 },
    );
  });

  it('names the file when tokenizer.json is missing or malformed', async () => {
    const empty = await folder('empty', {});
    await assert.rejects(loadHfTokenizer(empty), (e: ModelFileError) => {
      assert.equal(e.code, 'RDLAB_TOKENIZER_MISSING');
      assert.ok(e.message.includes(join(empty, 'tokenizer.json')), e.message);
      return true;
    });
    const bad = await folder('bad', { 'tokenizer.json': '{"model": {"type": "BPE", ' });
    await assert.rejects(loadHfTokenizer(bad), (e: ModelFileError) => {
      assert.equal(e.code, 'RDLAB_TOKENIZER_MALFORMED');
      assert.match(e.message, /tokenizer\.json: not valid JSON/);
      return true;
    });
    const noModel = await folder('no-model', { 'tokenizer.json': { version: '1.0' } });
    await assert.rejects(loadHfTokenizer(noModel), /RDLAB_TOKENIZER_MALFORMED: .*no "model"/);
    const badConfig = await folder('bad-config', {
      'tokenizer.json': gpt2Json(),
      'tokenizer_config.json': '{',
    });
    await assert.rejects(loadHfTokenizer(badConfig), /tokenizer_config\.json: not valid JSON/);
    const noEos = gpt2Json();
    noEos.added_tokens = [];
    delete (noEos.model.vocab as Record<string, number>)[END_OF_TEXT];
    assert.throws(() => HfTokenizer.fromJson(noEos), /RDLAB_TOKENIZER_MALFORMED: .*no end-of-text/);
  });
});

const yelp = sharedPath('datasets', 'yelp');
const agnews = sharedPath('datasets', 'agnews');

describe('the in-house BPE as tokenizer.json', () => {
  it('encodes yelp and AG News texts to the same ids through @huggingface/tokenizers', {
    skip: skipWithout(yelp && agnews, 'datasets/yelp and datasets/agnews'),
  }, async () => {
    const lines = (path: string, n: number) =>
      readFileSync(path, 'utf8').split('\n').filter(Boolean).slice(0, n);
    const train = [
      ...lines(join(yelp as string, 'sentiment.train.0'), 3000),
      ...lines(join(yelp as string, 'sentiment.train.1'), 3000),
    ];
    const inHouse = trainBpe(train, 1000);
    const dir = await folder('exported', {
      'tokenizer.json': bpeTokenizerJson(inHouse),
      'tokenizer_config.json': bpeTokenizerConfigJson(),
    });
    const hf = await loadHfTokenizer(dir);
    assert.equal(hf.vocabSize, inHouse.vocabSize);
    assert.equal(hf.eosId, inHouse.eosId);
    // AG News: mixed case, digits, punctuation, backslashes, quotes, the odd non-ASCII byte.
    const texts = [
      ...lines(join(yelp as string, 'sentiment.dev.0'), 1000),
      ...lines(join(yelp as string, 'sentiment.dev.1'), 1000),
      ...lines(join(agnews as string, 'test.csv'), 2000),
      "  two  spaces, tabs\tand newlines\n\nit's we'll 123 4.5 — ünïcödé ☃ 日本 🙂",
    ];
    let tokens = 0;
    for (const text of texts) {
      const expected = inHouse.encode(text);
      assert.deepEqual(hf.encode(text), expected, text);
      assert.equal(hf.decode(expected), inHouse.decode(expected), text);
      tokens += expected.length;
    }
    console.log(`# exported BPE: ${texts.length} texts, ${tokens} tokens, identical ids`);
  });
});
