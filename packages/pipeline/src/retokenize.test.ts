import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { demoSplit } from '@rdlab/data';
import { bpeTokenizerJson, HfTokenizer, trainBpe } from '@rdlab/ml';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { retokenize, targetTokensOf, tokenizerIdentity } from './retokenize.js';
import {
  type BehaviorSample,
  decodeShard,
  encodeShard,
  SHARD_FORMAT_VERSION,
} from './shard-file.js';
import { batchOf } from './train.js';

const texts = demoSplit('train').map((r) => r.text);
// β: an in-house BPE; π: a different vocabulary, read as a Hugging Face tokenizer.json.
const beta = trainBpe(texts, 400);
const pi = HfTokenizer.fromJson(bpeTokenizerJson(trainBpe(texts, 700)));
const { spec } = parseSweepSpec(
  JSON.stringify({
    datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
    dropout: [{ kind: 'none' }],
  }),
);

function sample(text: string, p: number, ended: boolean, k = 0): BehaviorSample {
  const ids = [...beta.encode(text), ...(ended ? [beta.eosId] : [])];
  const n = ids.length - p;
  return {
    prefixIndex: 0,
    sampleIndex: k,
    tokens: Int32Array.from(ids),
    prefixLength: p,
    behaviorLogprobs: Float32Array.from({ length: n }, (_, i) => -0.1 * (i + 1)),
    samplingLogprobs: Float32Array.from({ length: n }, (_, i) => -0.2 * (i + 1)),
    behaviorLikelihood: 0,
    rewardLogits: Float32Array.from([0.5, -0.5]),
    text,
  };
}

describe('β and π with different vocabularies', () => {
  const a = sample(texts[0] as string, 4, true);
  const b = sample(texts[1] as string, 4, false, 1);

  it('re-encodes β text with π: prefix and continuation apart, end-of-text carried over', () => {
    const t = retokenize(a, beta, pi);
    const prefixText = beta.decode(a.tokens.subarray(0, 4));
    assert.deepEqual([...t.tokens.subarray(0, t.prefixLength)], pi.encode(prefixText));
    assert.equal(t.tokens[t.tokens.length - 1], pi.eosId);
    assert.equal(pi.decode(t.tokens), beta.decode(a.tokens));
    assert.notDeepEqual([...t.tokens], [...a.tokens], 'the vocabularies differ');
  });

  it('trains π on its own ids of β text, masks its continuation, keeps β̄ and R per sequence', () => {
    const own = targetTokensOf([a, b], beta, pi);
    assert.ok(own);
    const batch = batchOf([a, b], spec, pi.eosId, 0, 2, own);
    const same = batchOf([a, b], spec, beta.eosId, 0, 2);
    const L = batch.length;
    for (const [row, s] of [a, b].entries()) {
      const t = own.get(s);
      assert.ok(t);
      assert.deepEqual([...batch.ids.subarray(row * L, row * L + t.tokens.length)], [...t.tokens]);
      const mask = [...batch.mask.subarray(row * L, (row + 1) * L)];
      assert.equal(mask.indexOf(1), t.prefixLength);
      assert.equal(
        mask.reduce((x, y) => x + y, 0),
        t.tokens.length - t.prefixLength,
      );
    }
    assert.deepEqual([...batch.behaviorLikelihood], [...same.behaviorLikelihood]);
    assert.deepEqual([...batch.rewardModelScore], [...same.rewardModelScore]);
  });

  it('leaves samples alone when π reads β tokenizer (same identity)', () => {
    assert.equal(targetTokensOf([a], beta, beta), null);
    const hfBeta = HfTokenizer.fromJson(bpeTokenizerJson(beta));
    assert.notEqual(tokenizerIdentity(hfBeta), tokenizerIdentity(beta));
  });

  it('shards record their tokenizer (format 2) and version 1 shards still read', () => {
    const bytes = encodeShard([a, b], 2, { tokenizer: tokenizerIdentity(beta), start: 0 });
    const read = decodeShard(bytes);
    assert.equal(read.formatVersion, SHARD_FORMAT_VERSION);
    assert.equal(read.tokenizer, tokenizerIdentity(beta));
    assert.deepEqual([...(read.samples[0]?.tokens ?? [])], [...a.tokens]);
    const table = tableFromIPC(bytes);
    table.schema.metadata.set('rdlab', JSON.stringify({ start: 0 }));
    const old = decodeShard(tableToIPC(table, 'file'));
    assert.equal(old.formatVersion, 1);
    assert.equal(old.tokenizer, null);
    assert.equal(old.samples.length, 2);
  });
});
