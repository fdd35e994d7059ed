import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { planSweep } from './plan.js';
import { bertForwardFlopsPerToken, bertParameterCount, rewardCost } from './reward-cost.js';
import { THROUGHPUTS, type Throughput } from './throughputs.js';

const BASE = { layers: 12, hidden: 768, intermediate: 3072, vocab: 30522, positions: 512 };

function bertSpec(rewardModel: object) {
  return parseSweepSpec(
    JSON.stringify({
      datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['negative', 'positive'] }],
      behavior: { model: { preset: 'tiny' } },
      rewardModel,
      dropout: [{ kind: 'none' }],
      training: { batchSize: 32, epochs: 1, maxLength: 20 },
      bootstrap: { prefixesPerAttribute: 100, samplesPerPrefix: 2, shardSize: 100 },
      evaluation: { prefixes: 10, trainingSamples: 0 },
    }),
  );
}

describe('rewardCost', () => {
  it('sizes bert-base-uncased as transformers counts it (109,483,778 with a 2-label head)', () => {
    assert.equal(bertParameterCount(BASE, 2), 109_483_778);
    // 2·12·L·C² at F = 4C, plus attention over T tokens.
    assert.equal(bertForwardFlopsPerToken(BASE, 22), 2 * 12 * 12 * 768 ** 2 + 4 * 12 * 22 * 768);
  });

  it('prices a BERT R by family: fine-tuning in prepare, scoring in bootstrap and evaluate', () => {
    const { spec, cells } = bertSpec({
      model: { checkpoint: 's3://models/bert-base-uncased' },
      finetune: { epochs: 10, sentencesPerAttribute: 1000, maxLength: 64 },
    });
    const R = rewardCost(spec, 2);
    assert.equal(R?.family, 'bert');
    assert.equal(R?.tokens, 22); // β's T = 20 plus [CLS] and [SEP]
    const p = planSweep(spec, cells);
    const prepare = p.stages.find((s) => s.stage === 'prepare');
    const perToken22 = bertForwardFlopsPerToken(BASE, 22); // at R's scoring length
    const train64 = bertForwardFlopsPerToken(BASE, 64) * 64; // R's maxLength in fine-tuning
    assert.equal(prepare?.byKind?.reward, 3 * train64 * 2000 * 10);
    const bootstrap = p.stages.find((s) => s.stage === 'bootstrap');
    assert.equal(bootstrap?.byKind?.reward, perToken22 * 22 * (2 * 100 * 2 + 2 * 10));
    assert.equal(p.models.find((m) => m.role === 'reward')?.parameters, 109_483_778);
    assert.ok(p.assumptions.some((a) => /CUDA engine has no BERT/.test(a)));
  });

  it('prices R on cuda workers at the native engine’s rate for BERT, not for the CNN', () => {
    const native = THROUGHPUTS.find((t) => t.backend === 'native') as Throughput;
    const cuda: Throughput = {
      ...native,
      backend: 'cuda',
      trainFlops: { ...native.trainFlops, flopsPerS: native.trainFlops.flopsPerS * 1000 },
      decodeFlops: { ...native.decodeFlops, flopsPerS: native.decodeFlops.flopsPerS * 1000 },
    };
    const rows = [native, cuda];
    const bert = bertSpec({ model: { checkpoint: './bert-base-uncased' } });
    const p = planSweep(bert.spec, bert.cells, rows);
    const reward = p.stages.find((s) => s.stage === 'bootstrap')?.byKind?.reward ?? 0;
    const seconds = p.estimates.find((e) => e.backend === 'cuda')?.seconds.bootstrap ?? 0;
    assert.ok(seconds >= reward / native.trainFlops.flopsPerS, 'R at native speed on cuda');
    const cnn = bertSpec({ model: { preset: 'cnn' } });
    const q = planSweep(cnn.spec, cnn.cells, rows);
    const cnnReward = q.stages.find((s) => s.stage === 'bootstrap')?.byKind?.reward ?? 0;
    const cnnSeconds = q.estimates.find((e) => e.backend === 'cuda')?.seconds.bootstrap ?? 0;
    assert.ok(cnnSeconds < cnnReward / native.trainFlops.flopsPerS);
    // Frozen R in a cell: on GPU memory for the CNN, host memory for BERT on cuda.
    assert.equal(p.memory.find((m) => m.engine === 'cuda')?.reward, 0);
    assert.ok((p.memory.find((m) => m.engine === 'native')?.reward ?? 0) > 4e8);
  });
});
