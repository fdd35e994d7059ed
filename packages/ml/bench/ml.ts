/**
 * `npm run bench:ml`: the ML engine's numbers.
 *
 * Part 1, engines side by side (each in its own process, so peak RSS is its own): the `small`
 * GPT (V 4096, C 128, L 4, H 4; 1.32M parameters) at batch 64 × 30 tokens — matmul GFLOP/s of
 * the backend, training tokens/s and achieved GFLOP/s, sampling tokens/s with and without the KV
 * cache, peak RSS.
 * Part 1b, native only: training tokens/s of the decoder families at that size — GPT-2, OPT (ReLU,
 * learned positions with offset 2, Linear q/k/v) and XGLM (erf GELU, sinusoids, √C embedding
 * scale) — in alternating rounds, best of 3 each, so a busy machine hurts all three alike.
 * Part 1c, native only: the reward models' scoring sequences/s at batch 64 × 30 tokens — the
 * BERT classifier at 4 layers, width 256 (4 heads, FFN 1024, vocabulary 8,192) beside the `cnn`
 * preset CNN — and BERT's fine-tuning sequences/s (forward, backward, Adam), best of 3 rounds.
 * Part 2, on real data (../shared/datasets; skipped without it) and the fastest backend: the reward
 * classifier's accuracy (Yelp dev, AG News test) and the behaviour LM's dev perplexity beside a
 * unigram baseline, with wall times.
 *
 * Flags: --engines wasm,native   --skip-data   --lm-sentences N   --classifier-epochs N
 *        --reward-only (part 1c alone, in this process)
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CLASSIFIER_PRESETS,
  createRng,
  type DecoderConfig,
  LM_PRESETS,
  resolveDataset,
} from '@rdlab/core';
import { loadDataset } from '@rdlab/data';
import {
  type BertConfig,
  benchDecoding,
  benchSampling,
  benchTraining,
  bertConfigFromJson,
  classifierAccuracy,
  initBackend,
  measureMatmulGflops,
  padBatch,
  pretrainLanguageModel,
  type RewardClassifier,
  randomBertClassifier,
  randomClassifier,
  randomLanguageModel,
  trainBpe,
  trainClassifier,
} from '../src/index.js';
import { sharedPath } from '../src/test-support.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const SMALL = { ...LM_PRESETS.small, n_positions: 32 };
const B = 64;
const T = 30;
const P = 4;

/** The anchor size in each family (FFN 4C as GPT-2's). */
const FAMILIES: Record<string, DecoderConfig> = {
  gpt2: SMALL,
  opt: {
    ...SMALL,
    family: 'opt',
    ffn_dim: 4 * SMALL.n_embd,
    activation: 'relu',
    position_kind: 'learned',
    position_offset: 2,
  },
  xglm: {
    ...SMALL,
    family: 'xglm',
    ffn_dim: 4 * SMALL.n_embd,
    activation: 'gelu',
    position_kind: 'sinusoidal',
    position_offset: 2,
    embed_scale: Math.sqrt(SMALL.n_embd),
  },
};

function familyTraining(): Record<string, number> {
  const best: Record<string, number> = {};
  for (let round = 0; round < 3; round++)
    for (const [name, config] of Object.entries(FAMILIES))
      best[name] = Math.max(best[name] ?? 0, benchTraining(config, B, T, 5).tokens_per_s);
  return best;
}

/** The reward-model BERT of part 1c: 4 layers, width 256, 4 heads, FFN 1024, vocabulary 8,192. */
const REWARD_BERT: BertConfig = bertConfigFromJson({
  model_type: 'bert',
  vocab_size: 8192,
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 1024,
  max_position_embeddings: 64,
  num_labels: 2,
});

/** Sequences/s of `run` over about `seconds`, after one warm-up call. */
function rate(run: () => void, sequences: number, seconds = 1): number {
  run();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    run();
    n += 1;
  }
  return (n * sequences) / ((performance.now() - start) / 1000);
}

/** Part 1c on the active engine: best of 3 alternating rounds. */
function rewardScoring(): Record<string, number> {
  const rng = createRng(1, 'bench-reward');
  const ids = Int32Array.from({ length: B * T }, () => 5 + Math.floor(rng.uniform() * 8000));
  const batch = { ids, batchSize: B, length: T };
  const lengths = new Int32Array(B).fill(T);
  const labels = Int32Array.from({ length: B }, (_, i) => i % 2);
  const bert = randomBertClassifier(REWARD_BERT, 1);
  const cnn: RewardClassifier = randomClassifier(CLASSIFIER_PRESETS.cnn, 8192, 2, 1);
  const best: Record<string, number> = {};
  const keep = (name: string, x: number) => {
    best[name] = Math.max(best[name] ?? 0, x);
  };
  for (let round = 0; round < 3; round++) {
    keep(
      'bert_score',
      rate(() => bert.logits(batch, lengths), B),
    );
    keep(
      'cnn_score',
      rate(() => cnn.logits(batch, lengths), B),
    );
    keep(
      'bert_train',
      rate(() => bert.trainStep(batch, lengths, labels, { learningRate: 5e-6 }, rng), B),
    );
  }
  bert.dispose();
  cnn.dispose();
  return best;
}

function rewardTable(r: Record<string, number>): string {
  return table(
    ['reward model (native)', 'parameters', 'sequences/s'],
    [
      ['BERT L 4, C 256, H 4, FFN 1024, V 8192: scoring', '5.34M', r.bert_score as number],
      ['BERT, fine-tuning step (forward, backward, Adam)', '5.34M', r.bert_train as number],
      ['CNN `cnn` preset, V 8192: scoring', '0.56M', r.cnn_score as number],
    ],
  );
}

/** Part 1 for one backend, in this process. */
async function engineReport(backend: string) {
  const info = await initBackend(backend, () => {});
  const matmul = measureMatmulGflops(512, 1);
  const steps = backend === 'native' ? 10 : 2;
  const train = benchTraining(SMALL, B, T, steps);
  const cached = benchSampling(SMALL, B, P, T, true, backend === 'native' ? 5 : 1);
  const recompute = benchSampling(SMALL, B, P, T, false, 1);
  const decodeCached = benchDecoding(SMALL, B, P, T, true, backend === 'native' ? 5 : 1);
  const decodeRecompute = benchDecoding(SMALL, B, P, T, false, 1);
  return {
    backend: info.name,
    matmul_gflops: matmul,
    train_tokens_per_s: train.tokens_per_s,
    train_gflops: train.gflops,
    sample_tokens_per_s_cache: cached,
    sample_tokens_per_s_recompute: recompute,
    decode_cache_speedup: decodeCached / decodeRecompute,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    ...(backend === 'native'
      ? { family_train_tokens_per_s: familyTraining(), reward_per_s: rewardScoring() }
      : {}),
  };
}

function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) =>
    r.map((v) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : v)),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => String(r[i]).length)));
  const line = (r: Array<string | number>) =>
    `| ${r.map((v, i) => String(v).padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ].join('\n');
}

async function dataReport() {
  const yelpDir = sharedPath('datasets', 'yelp');
  const agDir = sharedPath('datasets', 'agnews');
  if (!yelpDir || !agDir) {
    console.log(
      '\nreal-data benchmarks skipped: ../shared/datasets is absent beside the repository',
    );
    return;
  }
  const info = await initBackend(undefined, () => {});
  console.log(`\n## Real data (backend ${info.name})\n`);
  const rows: Array<Array<string | number>> = [];
  const clfEpochs = Number(flag('classifier-epochs', '2'));

  for (const [name, dir, format, attributes, evalName] of [
    ['Yelp', yelpDir, 'yelp-style-transfer', ['negative', 'positive'], 'dev'],
    ['AG News', agDir, 'agnews-csv', ['world', 'sports', 'business', 'sci-tech'], 'test'],
  ] as const) {
    const start = performance.now();
    const data = await loadDataset(
      resolveDataset({
        name,
        source: dir,
        format,
        attributes: [...attributes],
        trainSplit: 'train',
        text: format === 'agnews-csv' ? 'title+description' : undefined,
      }),
    );
    const trainTexts = [...data.train.values()].flat();
    const tokenizer = trainBpe(
      trainTexts.map((r) => r.text),
      4096,
    );
    const label = new Map(data.classes.map((c, i) => [c, i]));
    const examples = (split: Map<string, { text: string }[]>) =>
      [...split].flatMap(([c, records]) =>
        records.map((r) => ({ ids: tokenizer.encode(r.text), label: label.get(c) as number })),
      );
    const train = examples(data.train);
    const test = examples(data.eval);
    const preset = CLASSIFIER_PRESETS.cnn;
    const clf = randomClassifier(preset, tokenizer.vocabSize, data.classes.length, 1);
    trainClassifier(clf, train, tokenizer.eosId, {
      epochs: clfEpochs,
      batchSize: 64,
      adam: { learningRate: 2e-3 },
      seed: 2,
    });
    const accuracy = classifierAccuracy(clf, test, tokenizer.eosId);
    clf.dispose();
    rows.push([
      `reward classifier accuracy, ${name} ${evalName} (${test.length} sentences; trained on ${train.length}, ${clfEpochs} epochs)`,
      `${(accuracy * 100).toFixed(1)}%`,
      `${((performance.now() - start) / 1000).toFixed(0)} s`,
    ]);
  }

  // Behaviour LM on Yelp: dev perplexity against a unigram model of the same tokens.
  const start = performance.now();
  const yelp = await loadDataset(
    resolveDataset({
      name: 'yelp',
      source: yelpDir,
      format: 'yelp-style-transfer',
      attributes: ['negative', 'positive'],
      trainSplit: 'train',
    }),
  );
  const all = [...yelp.train.values()].flat().map((r) => r.text);
  const tokenizer = trainBpe(all, LM_PRESETS.small.vocab_size);
  const limit = Number(flag('lm-sentences', '60000'));
  const order = all
    .map((_, i) => i)
    .sort((a, b) => ((a * 2654435761) % 1000003) - ((b * 2654435761) % 1000003));
  const sentences = order
    .slice(0, limit)
    .map((i) => tokenizer.encode(all[i] as string))
    .filter((s) => s.length + 1 <= T);
  const dev = [...yelp.eval.values()]
    .flat()
    .map((r) => tokenizer.encode(r.text))
    .filter((s) => s.length + 1 <= T);
  const counts = new Float64Array(tokenizer.vocabSize).fill(1);
  let total = tokenizer.vocabSize;
  for (const s of sentences) {
    for (const id of [...s.slice(1), tokenizer.eosId]) {
      counts[id] = (counts[id] as number) + 1;
      total += 1;
    }
  }
  let unigramNll = 0;
  let devTokens = 0;
  for (const s of dev) {
    for (const id of [...s.slice(1), tokenizer.eosId]) {
      unigramNll -= Math.log((counts[id] as number) / total);
      devTokens += 1;
    }
  }
  const lm = randomLanguageModel({ ...LM_PRESETS.small, vocab_size: tokenizer.vocabSize }, 3);
  pretrainLanguageModel(lm, sentences, tokenizer.eosId, T, {
    epochs: 1,
    batchSize: 64,
    adam: { learningRate: 2e-3 },
    seed: 4,
  });
  let lmNll = 0;
  for (let i = 0; i < dev.length; i += 256) {
    const batch = padBatch(dev.slice(i, i + 256), tokenizer.eosId, T);
    const logp = lm.tokenLogprobs(batch);
    for (let j = 0; j < logp.length; j++) if (batch.lossMask[j]) lmNll -= logp[j] as number;
  }
  lm.dispose();
  const lmPpl = Math.exp(lmNll / devTokens);
  const unigramPpl = Math.exp(unigramNll / devTokens);
  rows.push([
    `behaviour LM (small) dev perplexity, Yelp, 1 epoch on ${sentences.length} sentences`,
    lmPpl.toFixed(1),
    `${((performance.now() - start) / 1000).toFixed(0)} s`,
  ]);
  rows.push([
    'unigram dev perplexity, same tokens (add-one)',
    `${unigramPpl.toFixed(1)} (${(unigramPpl / lmPpl).toFixed(1)}× the LM's)`,
    '',
  ]);
  console.log(table(['measure', 'value', 'wall'], rows));
}

async function main() {
  if (args.includes('--reward-only')) {
    await initBackend('native', () => {});
    console.log(`## Reward models on native: batch ${B} × ${T} tokens\n`);
    console.log(rewardTable(rewardScoring()));
    return;
  }
  const engine = args[args.indexOf('--engine') + 1];
  if (args.includes('--engine') && engine) {
    console.log(JSON.stringify(await engineReport(engine)));
    return;
  }
  const engines = flag('engines', 'wasm,native').split(',');
  console.log(`## Engines: GPT small (1.32M parameters), batch ${B} × ${T} tokens, prefix ${P}\n`);
  const reports = [];
  for (const e of engines) {
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--engine', e],
      { encoding: 'utf8' },
    );
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      console.log(
        `${e}: not measured (${(r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 200)})`,
      );
      continue;
    }
    reports.push(JSON.parse(line));
  }
  console.log(
    table(
      [
        'backend',
        'matmul GFLOP/s',
        'train tokens/s',
        'train GFLOP/s (% of matmul)',
        'sample tokens/s, KV cache',
        'sample tokens/s, recompute',
        'KV cache speed-up, model only',
        'peak RSS MB',
      ],
      reports.map((r) => [
        r.backend,
        r.matmul_gflops,
        r.train_tokens_per_s,
        `${r.train_gflops.toFixed(2)} (${((100 * r.train_gflops) / r.matmul_gflops).toFixed(0)}%)`,
        r.sample_tokens_per_s_cache,
        r.sample_tokens_per_s_recompute,
        `${r.decode_cache_speedup.toFixed(1)}×`,
        r.peak_rss_mb,
      ]),
    ),
  );
  const native = reports.find((r) => r.family_train_tokens_per_s);
  if (native) {
    const f = native.family_train_tokens_per_s as Record<string, number>;
    const gpt2 = f.gpt2 as number;
    console.log(
      `\n## Decoder families on native: training, V 4096, C 128, L 4, H 4, batch ${B} × ${T}\n`,
    );
    console.log(
      table(
        ['family', 'train tokens/s', 'vs GPT-2'],
        Object.entries(f).map(([name, x]) => [name, x, `${((100 * x) / gpt2).toFixed(0)}%`]),
      ),
    );
  }
  if (native?.reward_per_s) {
    console.log(`\n## Reward models on native: batch ${B} × ${T} tokens\n`);
    console.log(rewardTable(native.reward_per_s));
  }
  if (!args.includes('--skip-data')) await dataReport();
}

await main();
