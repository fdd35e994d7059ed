/**
 * A BERT reward model end to end: a tiny pretrained-only BERT fine-tuned by `prepare` (the
 * authors' recipe: per-epoch held-out accuracy, early stopping, best weights kept), scoring β's
 * samples from text through its own WordPiece, and a second sweep of another spec on the same
 * store that loads that R without fine-tuning it again.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseSweepSpec, rewardModelScores } from '@rdlab/core';
import { classify, initBackend, loadHfTokenizer } from '@rdlab/ml';
import { datasetOf, manifestKey, type PreparedManifest } from '@rdlab/plan';
import { directoryComplete, getJson, LocalDirectoryStore } from '@rdlab/store';
import {
  bertInput,
  decodeShard,
  MemoryMetrics,
  newCounters,
  prepare,
  prepareJob,
  RewardModelError,
  runSweep,
  type StageContext,
  silentProgress,
} from '../src/index.js';
import { writeTinyBert } from './tiny-bert.js';

const spec = (gamma: number, seed: number) => `
name: bert-${gamma}-${seed}
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 100 }
rewardModel:
  model: { checkpoint: ./tiny-bert }
  finetune: { epochs: 3, learningRate: 1.0e-3, batchSize: 32, patience: 1, maxLength: 32, sentencesPerAttribute: 100 }
dropout: [{ kind: quantile, gamma: ${gamma} }]
training: { batchSize: 8, epochs: 1, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 16, samplesPerPrefix: 2, shardSize: 16 }
evaluation: { prefixes: 8, examples: 1, trainingSamples: 8 }
seeds: [${seed}]
`;

function context(root: string): StageContext & { metrics: MemoryMetrics } {
  return {
    store: new LocalDirectoryStore(join(root, 'store')),
    metrics: new MemoryMetrics(),
    progress: silentProgress,
    baseDir: root,
    workDir: join(root, 'tmp'),
    counters: newCounters(),
  };
}

describe('a BERT reward model fine-tuned by the pipeline', () => {
  let root: string;
  const first = parseSweepSpec(spec(0.5, 1));
  let ctx: ReturnType<typeof context>;
  let run: Awaited<ReturnType<typeof runSweep>>;

  before(async () => {
    await initBackend();
    root = await mkdtemp(join(tmpdir(), 'rdlab-bert-reward-'));
    await writeTinyBert(join(root, 'tiny-bert'));
    ctx = context(root);
    run = await runSweep(ctx, first.spec, first.cells);
  });

  it('fine-tunes R once, recording its loss and held-out accuracy per epoch', async () => {
    assert.equal(ctx.counters.modelsTrained, 3); // tokenizer, β, R
    const losses = ctx.metrics.points.filter((p) => p.name === 'reward_model/finetune_loss');
    const accuracy = ctx.metrics.points.filter((p) => p.name === 'reward_model/eval_accuracy');
    assert.ok(losses.length >= 1 && losses.length <= 3, `${losses.length} epochs`);
    assert.deepEqual(
      accuracy.map((p) => p.epoch),
      losses.map((p) => p.epoch),
    );
    assert.ok(losses.every((p) => Number.isFinite(p.value) && p.value > 0));
    const key = run.datasets[0]?.keys.reward ?? '';
    assert.match(key, /^reward-models\/bert-/);
    assert.ok(await directoryComplete(ctx.store, key));
    // The best epoch's accuracy is what the manifest reports.
    const best = Math.max(...accuracy.map((p) => p.value));
    assert.equal(run.datasets[0]?.rewardAccuracy, best);
  });

  it('scores β samples from text with the fine-tuned R: raw logits in shards, probabilities as Reward', async () => {
    const shardKey = run.datasets[0]?.shards.positive?.[0] ?? '';
    const { samples, metadata } = decodeShard(await ctx.store.get(shardKey));
    assert.deepEqual(metadata.classes, ['negative', 'positive']);
    const prepared = await prepare(context(root), first.spec, datasetOf(first.spec, 'demo'));
    try {
      // β, loaded from the store after the run trained it, samples and scores only.
      assert.equal(prepared.behavior.frozen, true);
      const words = samples.slice(0, 4).map((s) => s.tokens);
      const text = words.map((w) => prepared.tokenizer.decode(w));
      const wordpiece = await loadHfTokenizer(join(root, 'tiny-bert'));
      const direct = classify(
        prepared.reward,
        text.map((t) => bertInput(wordpiece, t, 32)),
        0,
      );
      samples.slice(0, 4).forEach((s, b) => {
        assert.ok(Math.abs((s.rewardLogits[1] as number) - (direct[b * 2 + 1] as number)) < 1e-5);
      });
      const probability = rewardModelScores(direct, 2, 1, 'probability');
      assert.ok(probability.every((p) => p > 0 && p < 1));
    } finally {
      prepared.behavior.dispose();
      prepared.reward.dispose();
    }
    const result = run.results[0]!;
    assert.ok(result.final.reward > 0 && result.final.reward < 1);
  });

  it('a second sweep of another spec loads that R from the store without fine-tuning', async () => {
    const second = parseSweepSpec(spec(0.8, 2));
    const again = context(root);
    const out = await runSweep(again, second.spec, second.cells);
    assert.equal(again.counters.modelsTrained, 0);
    assert.equal(
      again.metrics.points.filter((p) => p.name.startsWith('reward_model/finetune')).length,
      0,
    );
    assert.equal(out.datasets[0]?.keys.reward, run.datasets[0]?.keys.reward);
    assert.equal(out.results.length, 1);
    const manifest = await prepareJob(again, second.spec, 'demo');
    assert.equal(manifest.keys.reward, run.datasets[0]?.keys.reward);
    assert.deepEqual(
      await getJson<PreparedManifest>(again.store, manifestKey(second.spec, 'demo')),
      manifest,
    );
  });

  it('keeps a trained head whose labels fit, and refuses one that does not, naming the field', async () => {
    const headed = join(root, 'headed');
    await writeTinyBert(headed, { labels: ['positive', 'negative'] });
    const named = parseSweepSpec(spec(0.5, 1).replace('./tiny-bert', './headed'));
    const ok = context(root);
    const out = await runSweep(ok, named.spec, named.cells);
    // Another checkpoint is another R; its head's order (id2label) is R's output order.
    assert.notEqual(out.datasets[0]?.keys.reward, run.datasets[0]?.keys.reward);
    const shard = decodeShard(await ok.store.get(out.datasets[0]?.shards.positive?.[0] ?? ''));
    assert.deepEqual(shard.metadata.classes, ['positive', 'negative']);
    const three = join(root, 'three');
    await writeTinyBert(three, { labels: ['a', 'b', 'c'] });
    const bad = parseSweepSpec(spec(0.5, 1).replace('./tiny-bert', './three'));
    await assert.rejects(
      prepare(context(root), bad.spec, datasetOf(bad.spec, 'demo')),
      (error: Error) =>
        error instanceof RewardModelError &&
        /rewardModel\.model\.checkpoint .*3 labels; the dataset has 2 classes/.test(error.message),
    );
  });
});
