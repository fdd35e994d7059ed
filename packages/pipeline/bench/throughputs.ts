/**
 * Remeasures the throughput table `rdlab plan` estimates from (`packages/plan/src/throughputs.json`): for each
 * engine, the FLOP/s it achieves on a training step and in KV-cached batched sampling. Prints the
 * rows as JSON; paste them over the measured rows of `packages/plan/src/throughputs.json` and keep the
 * reference rows (see the README, "Refreshing the throughput table").
 *
 *   node --conditions=source --import tsx packages/pipeline/bench/throughputs.ts [--engines native,wasm] [--gpt2 native] [--machine "…"]
 *
 * Training: one Adam step of a random GPT on random tokens (`benchTraining`, the same as
 * `rdlab bench train`), converted with 6·N FLOPs per token (N: every parameter, embeddings
 * included; the cost model of `src/plan.ts`). The `small` preset at batch 64 × 30 tokens, and for
 * the engines named by `--gpt2` also GPT-2 124M's shape at batch 8 × 30 tokens, whose figure is the
 * one stored (the paper's target is GPT-2 124M).
 *
 * Sampling: `generate` from 128 random 4-token prefixes to 30 tokens at temperature 1 on the
 * `small` preset, with an end-of-text id outside the vocabulary so every row runs to full length,
 * converted with 2·N FLOPs per generated token.
 *
 * Each engine runs in its own process: a process holds one backend.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRng, type Gpt2Config, gpt2ParameterCount, LM_PRESETS } from '@rdlab/core';
import { benchTraining, generate, initBackend, randomLanguageModel } from '@rdlab/ml';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};

const SMALL: Gpt2Config = LM_PRESETS.small;
/** GPT-2 124M with only the positions a 30-token step uses. */
const GPT2: Gpt2Config = { ...LM_PRESETS.gpt2, n_positions: 30 };
const SAMPLE = { batchSize: 128, prefixLength: 4, maxLength: 30 };

interface Measured {
  flopsPerS: number;
  measuredOn: string;
  machine: string;
  how: string;
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function sigfig(x: number): number {
  return Number(x.toPrecision(3));
}

/** Generated tokens per second of `generate` (after a warm-up call). */
function samplingTokensPerSecond(config: Gpt2Config, repeats: number): number {
  const { batchSize: B, prefixLength: p, maxLength: T } = SAMPLE;
  const model = randomLanguageModel(config, 3);
  const rng = createRng(4);
  const prefixes = Int32Array.from({ length: B * p }, () => rng.int(config.vocab_size));
  const run = () => generate(model, prefixes, B, { maxLength: T, temperature: 1, eosId: -1, rng });
  run();
  const start = performance.now();
  for (let i = 0; i < repeats; i++) run();
  const seconds = (performance.now() - start) / 1000;
  model.dispose();
  return (repeats * B * (T - p)) / seconds;
}

/** One engine's row, measured in this process. */
async function measure(engine: string, gpt2: boolean, machine: string) {
  const info = await initBackend(engine, () => {});
  const fast = info.name === 'native';
  const small = benchTraining(SMALL, 64, 30, fast ? 5 : 2);
  const smallFlops = 6 * gpt2ParameterCount(SMALL) * small.tokens_per_s;
  let train: Measured = {
    flopsPerS: sigfig(smallFlops),
    measuredOn: today(),
    machine,
    how: `rdlab bench train --backend ${info.name} (small preset, batch 64 × 30): ${Math.round(small.tokens_per_s)} tokens/s × 6 × ${gpt2ParameterCount(SMALL)} parameters`,
  };
  if (gpt2) {
    const big = benchTraining(GPT2, 8, 30, 2);
    const params = gpt2ParameterCount(GPT2);
    train = {
      flopsPerS: sigfig(6 * params * big.tokens_per_s),
      measuredOn: today(),
      machine,
      how: `rdlab bench train --backend ${info.name} --vocab 50257 --dim 768 --layers 12 --heads 12 --batch 8 --seq 30 --steps 2: ${big.tokens_per_s.toFixed(1)} tokens/s × 6 × ${params} parameters (the small preset at batch 64 × 30: ${Math.round(small.tokens_per_s)} tokens/s, ${(smallFlops / 1e9).toFixed(1)} GFLOP/s)`,
    };
  }
  const tokensPerS = samplingTokensPerSecond(SMALL, fast ? 3 : 1);
  const decode: Measured = {
    flopsPerS: sigfig(2 * gpt2ParameterCount(SMALL) * tokensPerS),
    measuredOn: today(),
    machine,
    how: `packages/pipeline/bench/throughputs.ts: generate() on the small preset, batch ${SAMPLE.batchSize}, prefix ${SAMPLE.prefixLength}, maxLength ${SAMPLE.maxLength}, temperature 1, KV cache: ${Math.round(tokensPerS)} generated tokens/s × 2 × ${gpt2ParameterCount(SMALL)} parameters`,
  };
  return { backend: info.name, reference: false, trainFlops: train, decodeFlops: decode };
}

const child = flag('child', '');
if (child !== '') {
  const gpt2 = flag('gpt2', 'native').split(',').includes(child);
  console.log(JSON.stringify(await measure(child, gpt2, flag('machine', ''))));
} else {
  const engines = flag('engines', 'native,wasm').split(',');
  const machine = flag(
    'machine',
    `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
  );
  const self = fileURLToPath(import.meta.url);
  const rows: unknown[] = [];
  for (const engine of engines) {
    const r = spawnSync(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        self,
        '--child',
        engine,
        '--gpt2',
        flag('gpt2', 'native'),
        '--machine',
        machine,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    if (r.status !== 0) {
      console.error(`${engine}: exited with ${r.status}; skipped`);
      continue;
    }
    rows.push(JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null'));
  }
  console.log(JSON.stringify(rows, null, 2));
}
