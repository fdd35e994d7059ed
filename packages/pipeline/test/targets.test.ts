/**
 * Target initialisation, freezing and pairing in a real sweep: a random-init target that trains
 * only its last block keeps every other parameter exactly at its seeded initialisation, and cells
 * that differ only in their dropout start from the same π and see the same data order.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createRng, parseSweepSpec } from '@rdlab/core';
import { initBackend, initGpt2Parameters, loadLanguageModelCheckpoint } from '@rdlab/ml';
import { getDirectory, LocalDirectoryStore } from '@rdlab/store';
import {
  type CellResult,
  MemoryMetrics,
  newCounters,
  runSweep,
  silentProgress,
} from '../src/index.js';

const SPEC = `
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 150 }
rewardModel:
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 150 }
targets:
  - { init: behavior }
  - { name: scratch, model: { preset: tiny }, init: random, freezeAllButLastBlock: true }
# threshold -1e9 keeps every sample: that cell must train exactly as 'none' does.
dropout: [{ kind: none }, { kind: threshold, delta: -1.0e9 }, { kind: quantile, gamma: 0.5 }]
training: { batchSize: 8, epochs: 1, learningRate: 1.0e-2, maxLength: 20, temperature: 1.0 }
bootstrap: { prefixesPerAttribute: 16, samplesPerPrefix: 2, shardSize: 16 }
evaluation: { prefixes: 8, examples: 1 }
`;

describe('targets', () => {
  before(async () => {
    await initBackend();
  });

  it('initialises a random target from its seed and trains only its last block', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rdlab-targets-'));
    const store = new LocalDirectoryStore(join(root, 'store'));
    const { spec, cells } = parseSweepSpec(SPEC);
    const ctx = {
      store,
      metrics: new MemoryMetrics(),
      progress: silentProgress,
      baseDir: root,
      workDir: join(root, 'tmp'),
      counters: newCounters(),
    };
    const run = await runSweep(ctx, spec, cells);
    assert.deepEqual(
      run.results.map((r) => r.cell.target),
      ['tiny', 'tiny', 'tiny', 'scratch', 'scratch', 'scratch'],
    );
    const scratchResults = run.results.filter((r) => r.cell.target === 'scratch');
    const [none, keepAll, quantile] = scratchResults as [CellResult, CellResult, CellResult];
    assert.equal(new Set(scratchResults.map((r) => r.cell.pair)).size, 1, 'one pair');
    assert.equal(new Set(scratchResults.map((r) => r.cell.id)).size, 3, 'three cells');
    assert.deepEqual(quantile.start.perSample, none.start.perSample, 'same initial π');
    assert.deepEqual(
      keepAll.final.perSample,
      none.final.perSample,
      'same π, same order, same kept samples: the same result',
    );
    assert.notDeepEqual(quantile.final.perSample, none.final.perSample, 'dropout changed it');
    const scratch = cells.find((c) => c.target === 'scratch' && c.dropout.kind === 'quantile')!;
    const dir = join(root, 'ckpt');
    await getDirectory(store, `cells/${scratch.id}/epoch-1`, dir);
    const { model } = await loadLanguageModelCheckpoint(dir);
    const trained = model.getParameters();
    const initial = initGpt2Parameters(
      model.config,
      createRng(scratch.seed, 'target-init', scratch.pair),
    );
    assert.deepEqual(
      trained.get('h.0.attn.c_attn.weight')?.data,
      initial.get('h.0.attn.c_attn.weight')?.data,
      'a frozen block did not move',
    );
    assert.deepEqual(
      trained.get('wte.weight')?.data,
      initial.get('wte.weight')?.data,
      'frozen embeddings did not move',
    );
    assert.notDeepEqual(
      trained.get('h.1.mlp.c_fc.weight')?.data,
      initial.get('h.1.mlp.c_fc.weight')?.data,
      'the last block trained',
    );
    model.dispose();
  });
});
