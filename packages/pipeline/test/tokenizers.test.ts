/**
 * β and π with different tokenizers, end to end: β a tiny OPT whose tokenizer.json prepends
 * `</s>`, π a tiny GPT-2 with another vocabulary (src/test-checkpoints.ts). The sweep finishes with
 * results; the shards hold β's ids; every batch π's step receives is π's own encoding of β's
 * decoded text (`RLHF_train.py` re-encodes the samples with the target's tokenizer).
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRng, parseSweepSpec } from '@rdlab/core';
import {
  createLanguageModel,
  type HfTokenizer,
  initBackend,
  initGpt2Parameters,
  type LanguageModel,
  loadHfTokenizer,
  presetConfig,
} from '@rdlab/ml';
import { LocalDirectoryStore } from '@rdlab/store';
import {
  decodeShard,
  MemoryMetrics,
  newCounters,
  retokenize,
  runSweep,
  type SweepRun,
  silentProgress,
  tokenizerIdentity,
} from '../src/index.js';
import { tokenizerSweep, writeTinyCheckpoints } from '../src/test-checkpoints.js';

describe('β and π with their own tokenizers', () => {
  const { spec, cells } = parseSweepSpec(tokenizerSweep());
  let root: string;
  let run: SweepRun;
  let store: LocalDirectoryStore;
  let beta: HfTokenizer;
  let pi: HfTokenizer;
  const batches: Int32Array[][] = [];
  let restore = () => {};

  before(async () => {
    await initBackend();
    root = await mkdtemp(join(tmpdir(), 'rdlab-tokenizers-'));
    const dirs = await writeTinyCheckpoints(root);
    beta = await loadHfTokenizer(dirs.beta);
    pi = await loadHfTokenizer(dirs.pi);
    // Spy on the training step of π's engine: record the rows of every batch it receives.
    const probeConfig = presetConfig('tiny', 16);
    const probe = createLanguageModel(probeConfig, initGpt2Parameters(probeConfig, createRng(1)));
    const proto = Object.getPrototypeOf(probe) as LanguageModel;
    probe.dispose();
    const original = proto.trainStep;
    proto.trainStep = function (this: LanguageModel, batch, ...rest) {
      const rows: Int32Array[] = [];
      for (let b = 0; b < batch.batchSize; b++)
        rows.push(batch.ids.slice(b * batch.length, (b + 1) * batch.length));
      batches.push(rows);
      return original.call(this, batch, ...rest);
    } as LanguageModel['trainStep'];
    restore = () => {
      proto.trainStep = original;
    };
    store = new LocalDirectoryStore(join(root, 'store'));
    run = await runSweep(
      {
        store,
        metrics: new MemoryMetrics(),
        progress: silentProgress,
        baseDir: root,
        workDir: join(root, 'tmp'),
        counters: newCounters(),
      },
      spec,
      cells,
    );
  });

  after(() => restore());

  it('finishes with results for every cell', () => {
    assert.equal(run.results.length, 2);
    for (const r of run.results) {
      assert.equal(r.epochs.length, 1);
      for (const e of [r.start, r.final]) {
        assert.ok(e.acc > 0 && e.acc < 1, `Acc ${e.acc}`);
        assert.ok(e.reward >= 0 && e.reward <= 1, `Reward ${e.reward}`);
        assert.equal(e.perSample.acc.length, 6);
        assert.ok(e.tokenAccuracy >= 0 && e.tokenAccuracy <= 1);
      }
      assert.ok(r.epochs[0]?.train, 'the authors-style training metrics');
    }
  });

  it("stores β's ids in the shards and trains π on its own ids of β's text", async () => {
    assert.notEqual(beta.identity, pi.identity);
    const shard = decodeShard(await store.get(run.datasets[0]?.shards.positive?.[0] as string));
    assert.equal(shard.tokenizer, tokenizerIdentity(beta));
    assert.ok(
      shard.samples.every((s) => s.tokens[0] === 2),
      "β's prefixes start with `</s>`",
    );
    const trim = (ids: ArrayLike<number>) => {
      const out = Array.from(ids);
      while (out.length > 0 && out[out.length - 1] === pi.eosId) out.pop();
      return out.join(',');
    };
    // π's encodings, cut to its 48 positions as training cuts them.
    const expected = new Set(
      shard.samples.map((s) => trim(retokenize(s, beta, pi).tokens.subarray(0, 48))),
    );
    const behaviorRows = new Set(shard.samples.map((s) => trim(s.tokens)));
    // 2 cells × 16 samples / 8 per batch.
    assert.equal(batches.length, 4);
    for (const rows of batches)
      for (const row of rows) {
        assert.ok(expected.has(trim(row)), `a batch row is π's encoding of a sample: ${row}`);
        assert.ok(!behaviorRows.has(trim(row)), "not β's ids");
      }
  });
});
