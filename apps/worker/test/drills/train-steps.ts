/**
 * The child process of the RSS drill (load.test.ts), alone so that the test runner's heap and
 * the other drills' leftovers do not move its memory: `steps` reward-dropout updates (the
 * worker's training step, `rewardDropoutStep`) of a tiny GPT on the native engine, each on a
 * fresh random batch (as the worker builds one per step), then one JSON line on stdout:
 * `{ samples: [{ step, rssBytes }], … }`, or `{ unavailable }` when the native engine does not
 * load.
 *
 *   node --expose-gc --conditions=source --import tsx train-steps.ts <steps> <sampleEvery>
 *
 * Each sample follows a full GC, so garbage not yet collected is not growth; what survives a
 * GC, in the JS heap or in native memory, is. On Linux it is the anonymous part of RSS
 * (`RssAnon`): file-backed pages (code, the addon, wasm) come and go with the page cache,
 * under other processes' pressure, while a leak is anonymous memory.
 */
import { readFileSync } from 'node:fs';
import { createRng, LM_PRESETS } from '@rdlab/core';
import { initBackend, randomLanguageModel, rewardDropoutStep } from '@rdlab/ml';

const [steps, sampleEvery] = process.argv.slice(2).map(Number) as [number, number];
const B = 8; // batch
const T = 20; // tokens per sequence, prefix included (the demo's maxLength)
const PREFIX = 4;

try {
  await initBackend('native', () => {});
} catch (error) {
  console.log(JSON.stringify({ unavailable: (error as Error).message }));
  process.exit(0);
}

function residentBytes(): number {
  try {
    const kib = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib) return Number(kib) * 1024;
  } catch {}
  return process.memoryUsage().rss;
}

const config = LM_PRESETS.tiny;
const model = randomLanguageModel(config, 1);
const rng = createRng(12, 'load-drill');
const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= PREFIX ? 1 : 0));
const nextBatch = () => ({
  ids: Int32Array.from({ length: B * T }, () => rng.int(config.vocab_size)),
  mask,
  batchSize: B,
  length: T,
  behaviorLikelihood: Float64Array.from({ length: B }, () => 0.01 + 0.1 * rng.uniform()),
  rewardModelScore: Float64Array.from({ length: B }, () => rng.normal()),
});
const options = {
  objective: {
    objective: 'total',
    dropout: { kind: 'quantile', gamma: 0.5 },
    importanceWeightClip: { kind: 'norm', bound: 1 },
  },
  likelihood: 'mean',
  adam: { learningRate: 1e-4 },
  rng,
} as const;

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const samples: Array<{ step: number; rssBytes: number }> = [];
const t0 = performance.now();
let loss = 0;
for (let step = 1; step <= steps; step++) {
  loss = rewardDropoutStep(model, nextBatch(), options).loss;
  if (step % sampleEvery === 0) {
    gc();
    samples.push({ step, rssBytes: residentBytes() });
  }
}
const seconds = (performance.now() - t0) / 1000;
model.dispose();
console.log(JSON.stringify({ backend: model.backend, steps, seconds, loss, samples }));
