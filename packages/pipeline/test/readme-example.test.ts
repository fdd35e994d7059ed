/**
 * The README example, type-checked and run on a tiny sweep (the `tiny` GPT, the `cnn` reward
 * model, builtin:demo, one attribute, two dropouts, one epoch) in a temporary folder.
 * apps/cli/test/readmes.test.ts keeps the block and this region equal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { initBackend } from '@rdlab/ml';
import { LocalDirectoryStore } from '@rdlab/store';
import { buildReport, MemoryMetrics, newCounters, runSweep, silentProgress } from '../src/index.js';

const yamlText = `
name: readme
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
rewardModel:
  model: { preset: cnn }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
dropout: [{ kind: none }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 1, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 16, samplesPerPrefix: 2, shardSize: 16 }
evaluation: { prefixes: 8, examples: 1 }
seeds: [1]
`;

const cwd = process.cwd();
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'rdlab-pipeline-readme-'));
  process.chdir(root); // the example's relative paths land here
});

after(async () => {
  process.chdir(cwd);
  if (root) await rm(root, { recursive: true, force: true });
});

it('runs the README sweep and builds its report', { timeout: 240_000 }, async () => {
  // --- README example starts
  await initBackend();
  const { spec, cells } = parseSweepSpec(yamlText);
  const ctx = {
    store: new LocalDirectoryStore('.rdlab/artifacts'),
    metrics: new MemoryMetrics(),
    progress: silentProgress,
    baseDir: '.',
    workDir: '.rdlab/tmp',
    counters: newCounters(),
  };
  const { results } = await runSweep(ctx, spec, cells);
  const report = buildReport(spec, results);
  // --- README example ends

  assert.equal(cells.length, 2);
  assert.equal(results.length, 2);
  assert.deepEqual(results.map((r) => r.cell.id).sort(), cells.map((c) => c.id).sort());
  for (const r of results) {
    assert.equal(r.epochs.length, 1);
    assert.ok(Number.isFinite(r.final.reward), `${r.dropoutLabel}: reward ${r.final.reward}`);
  }
  assert.equal(ctx.counters.modelsTrained, 3); // tokenizer, β, R
  assert.equal(ctx.counters.sampledSequences, 16 * 2);
  assert.equal(report.name, 'readme');
  assert.equal(report.variants.length, 2);
  assert.deepEqual(report.columns, ['demo/positive']);
  assert.ok((await readdir(join(root, '.rdlab/artifacts'))).length > 0);
});
