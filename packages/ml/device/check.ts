/**
 * The device check's runner: bundled by pack.mjs into carry/check.mjs (no node_modules travel) and
 * run by check.sh on the GPU machine. Each stage writes `<out>/<stage>.json` as soon as it ends, so
 * a time limit still returns what was done; `summary` gathers them beside the PyTorch figures.
 *
 *   node check.mjs --out DIR [--stages fixture,parity,reward-dropout,train,sample,summary]
 *                  [--fixtures DIR] [--quick] [--dry-run]
 *
 * Stages:
 * - fixture: tiny-gpt2's, tiny-opt's and tiny-xglm's log-probabilities against their
 *   reference.json (fp32 to 1e-4; bf16 reported); and the addon's own argument checks
 *   (src/addon-checks.ts: every wrong length or type a JavaScript caller can pass is refused with
 *   an error naming it, none trusted from the TypeScript wrapper).
 * - parity: a random GPT's logits, loss and gradients against the native CPU engine (or, where it
 *   is not built or RDLAB_CHECK_REFERENCE=torch, a float64 PyTorch reference: torch_reference.py)
 *   to 1e-3 relative; one Adam step
 *   with clipping; freezing all but the last block; the KV cache against recomputing; and
 *   `sample()` (token choice on the GPU) against sampler.ts's `sampleRow` on the same logits with
 *   the same generator: identical tokens and generator state. Then the same for the OPT and XGLM
 *   fixtures' models (logits, loss, gradients against the native engine, KV cache, sampling).
 * - reward-dropout: the fixture step's four cases (`rdlab model step`'s check) on the CUDA engine,
 *   and tiny-opt's and tiny-xglm's golden steps (step/).
 * - train: training tokens/s, the anchor GPT and GPT-2 124M at batch 64 × 30, fp32, tf32, bf16:
 *   the step of `rdlab bench train` (one Adam step on random tokens after warm-up, median).
 * - sample: `sample()` tokens/s with the KV cache, prefix 4 to 30 tokens, temperature 1.
 * - reward-model: the BERT reward model R as the cuda backend runs it: scoring (frozen) on the
 *   CUDA BERT (cuda/src/bert.cu) when the CUDA addon is here, next to the native engine's (the
 *   one a fine-tuning load gets): tiny-bert's logits on its reference batch (right-padded) to 1e-4
 *   on both (fp32; tf32 and bf16 reported), and batched scoring's sequences/s (tiny-bert;
 *   bert-base-sized unless --quick) on each.
 * - summary: the figures side by side with torch.json (torch_gpt.py) and the pass/fail of each check.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRng,
  type DecoderConfig,
  type Gpt2Config,
  gpt2ParameterCount,
  type ImportanceWeightClip,
  type LikelihoodKind,
  type Objective,
  type Rng,
  resolveDropoutConfig,
} from '@rdlab/core';
import { addonCheckCases, runAddonChecks } from '../src/addon-checks.js';
import {
  type BertConfig,
  bertConfigFromJson,
  bertParameterName,
  initBertParameters,
} from '../src/bert/config.js';
import { NativeBertClassifier } from '../src/bert/native-bert.js';
import { cudaStatus, loadCudaAddon } from '../src/cuda/addon.js';
import { CudaBertClassifier } from '../src/cuda/cuda-bert.js';
import { CudaGpt2, type CudaPrecision } from '../src/cuda/cuda-gpt2.js';
import type { BertClassifier, EngineSampling, LanguageModel, TokenBatch } from '../src/engine.js';
import { engineDecoderConfig } from '../src/flat-gpt2.js';
import { readGpt2Checkpoint } from '../src/gpt2/checkpoint-files.js';
import { initGpt2Parameters, lastBlockParameterNames } from '../src/gpt2/params.js';
import { ADDON_PATH, loadAddon } from '../src/native/addon.js';
import { NativeGpt2 } from '../src/native/native-gpt2.js';
import { readSafetensors, type TensorMap, writeSafetensors } from '../src/safetensors.js';
import { generate } from '../src/sampler.js';
import { rewardDropoutGradients } from '../src/train/reward-dropout.js';

export const STAGES = [
  'fixture',
  'parity',
  'reward-dropout',
  'train',
  'sample',
  'reward-model',
  'summary',
] as const;
export type Stage = (typeof STAGES)[number];

export interface CheckArgs {
  out: string;
  stages: Stage[];
  fixtures: string;
  /** Small sizes and few steps: for trying the runner, not for figures. */
  quick: boolean;
  dryRun: boolean;
  repo: string;
  /** `native` runs the harness on the CPU engine: a check of the runner itself, without a GPU. */
  engine: 'cuda' | 'native';
}

/** Parses the command line; throws naming the flag and what it allows. */
export function parseArgs(argv: string[], env: Record<string, string | undefined> = {}): CheckArgs {
  const args: CheckArgs = {
    out: env.OUT || 'device-out',
    stages: [...STAGES],
    fixtures: env.RDLAB_FIXTURES || 'packages/ml/device/carry/fixtures',
    quick: false,
    dryRun: false,
    repo: process.cwd(),
    engine: 'cuda',
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${flag}: expected a value`);
      return v;
    };
    switch (flag) {
      case '--out':
        args.out = value();
        break;
      case '--fixtures':
        args.fixtures = value();
        break;
      case '--repo':
        args.repo = value();
        break;
      case '--stages': {
        const stages = value().split(',');
        for (const s of stages)
          if (!(STAGES as readonly string[]).includes(s))
            throw new Error(`--stages: '${s}' is not a stage; choose from ${STAGES.join(', ')}`);
        args.stages = stages as Stage[];
        break;
      }
      case '--engine': {
        const e = value();
        if (e !== 'cuda' && e !== 'native')
          throw new Error(`--engine: '${e}' is not an engine; choose cuda or native`);
        args.engine = e;
        break;
      }
      case '--quick':
        args.quick = true;
        break;
      case '--dry-run':
        args.dryRun = true;
        break;
      default:
        throw new Error(
          `unknown flag '${flag}': --out DIR, --stages ${STAGES.join(',')}, --fixtures DIR, --repo DIR, --engine cuda|native, --quick, --dry-run`,
        );
    }
  }
  return args;
}

// ------------------------------------------------------------------ helpers

const ANCHOR: Gpt2Config = {
  vocab_size: 4096,
  n_positions: 30,
  n_embd: 128,
  n_layer: 4,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
};
const GPT2: Gpt2Config = {
  vocab_size: 50257,
  n_positions: 30,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  layer_norm_epsilon: 1e-5,
};
const RANDOM: Gpt2Config = {
  vocab_size: 97,
  n_positions: 24,
  n_embd: 32,
  n_layer: 2,
  n_head: 4,
  layer_norm_epsilon: 1e-5,
};

/** max |a − b| / max |b|: relative to the reference's scale. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs((a[i] as number) - (b[i] as number)));
    den = Math.max(den, Math.abs(b[i] as number));
  }
  return num / Math.max(den, 1e-12);
}

function randomBatch(seed: number, B: number, T: number, V: number): TokenBatch {
  const rng = createRng(seed);
  return { ids: Int32Array.from({ length: B * T }, () => rng.int(V)), batchSize: B, length: T };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

let engine: CheckArgs['engine'] = 'cuda';

/** The engine under check (the CUDA one; the native one when checking the runner itself). */
function makeModel(
  config: DecoderConfig,
  parameters: TensorMap,
  precision: CudaPrecision,
): LanguageModel & { lossAndGradients: CudaGpt2['lossAndGradients'] } {
  return engine === 'cuda'
    ? new CudaGpt2(config, parameters, precision)
    : new NativeGpt2(config, parameters);
}

/** The reference engine: the native CPU engine when its addon is built here. */
function nativeBuilt(): boolean {
  return process.env.RDLAB_CHECK_REFERENCE !== 'torch' && existsSync(ADDON_PATH);
}

/**
 * The reference `sample()` must reproduce: sampler.ts's `generate` with the token choice in
 * JavaScript (`sampleRow`) on the same model's logits.
 */
export function referenceSample(
  model: LanguageModel,
  prefixes: Int32Array,
  B: number,
  o: Omit<EngineSampling, 'rngState'>,
  rng: Rng,
) {
  return generate(model, prefixes, B, { ...o, rng, engineChoice: false });
}

// ------------------------------------------------------------------ stages

/** The decoder fixtures: GPT-2 always, OPT and XGLM where pack.mjs carried them. */
function familyFixtures(args: CheckArgs): string[] {
  return ['tiny-gpt2', 'tiny-opt', 'tiny-xglm'].filter(
    (name) => name === 'tiny-gpt2' || existsSync(join(args.fixtures, name)),
  );
}

async function fixtureStage(args: CheckArgs) {
  const result: Record<string, unknown> = {};
  let pass = true;
  for (const name of familyFixtures(args)) {
    const dir = join(args.fixtures, name);
    const { config, parameters } = await readGpt2Checkpoint(dir);
    const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
      cases: Array<{ ids: number[]; token_logprobs: number[] }>;
    };
    const mine: Record<string, unknown> = {};
    for (const precision of ['fp32', 'bf16'] as const) {
      const model = makeModel(config, parameters, precision);
      let maxError = 0;
      for (const c of reference.cases) {
        const logp = model.tokenLogprobs({
          ids: Int32Array.from(c.ids),
          batchSize: 1,
          length: c.ids.length,
        });
        c.token_logprobs.forEach((expected, i) => {
          maxError = Math.max(maxError, Math.abs((logp[i + 1] as number) - expected));
        });
      }
      model.dispose();
      mine[precision] = { max_abs_error: maxError };
    }
    const fp32 = (mine.fp32 as { max_abs_error: number }).max_abs_error;
    pass = pass && fp32 < 1e-4;
    result[name] = { ...mine, pass: fp32 < 1e-4 };
  }
  const checks = addonChecks();
  return {
    pass: pass && checks.pass,
    tolerance: 1e-4,
    // tiny-gpt2's figures where the summary has always read them.
    ...(result['tiny-gpt2'] as object),
    families: result,
    addon_checks: checks,
  };
}

/**
 * The addon's argument checks (src/addon-checks.ts) on a raw handle of the engine under check:
 * each wrong length or type must be refused with an error that names the argument.
 */
function addonChecks() {
  const config = RANDOM;
  const parameters = initGpt2Parameters(config, createRng(11));
  const model = makeModel(config, parameters, 'fp32');
  const handle = (model as unknown as { handle: Parameters<typeof addonCheckCases>[1] }).handle;
  const tensors = model.getParameters().size;
  const numParams = [...model.getParameters().values()].reduce((a, t) => a + t.data.length, 0);
  const open = (flat: Float32Array) =>
    engine === 'cuda'
      ? new (loadCudaAddon().CudaGpt2)(engineDecoderConfig(config), flat, 'fp32')
      : new (loadAddon().NativeGpt2)(engineDecoderConfig(config), flat);
  const results = runAddonChecks(
    addonCheckCases(
      engine,
      handle,
      { V: config.vocab_size, P: config.n_positions, tensors, numParams },
      open,
    ),
  );
  // The model still computes after every refusal.
  const usable = model
    .tokenLogprobs(randomBatch(12, 2, 5, config.vocab_size))
    .every(Number.isFinite);
  model.dispose();
  return { cases: results, usable_after: usable, pass: usable && results.every((r) => r.pass) };
}

/** Logits, loss, gradients and one clipped Adam step against the native engine or PyTorch. */
async function parityStage(args: CheckArgs) {
  const config = RANDOM;
  const parameters = initGpt2Parameters(config, createRng(1));
  for (const t of parameters.values())
    for (let i = 0; i < t.data.length; i++) t.data[i] = (t.data[i] as number) * 5;
  const B = 3;
  const T = 12;
  const batch = randomBatch(2, B, T, config.vocab_size);
  const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= 3 && i % T < 10 ? 1 : 0));
  const coefficients = [0.8, -1.2, 2.0];
  const lr = 1e-2;
  const clip = 0.5;

  const cuda = makeModel(config, parameters, 'fp32');
  const logits = cuda.logits(batch);
  const grads = cuda.lossAndGradients(batch, mask, () => coefficients);

  let reference: {
    engine: string;
    logits: ArrayLike<number>;
    loss: number;
    gradients: TensorMap;
    gradientNorm: number;
    after: TensorMap;
  };
  if (nativeBuilt()) {
    const native = new NativeGpt2(config, parameters);
    const g = native.lossAndGradients(batch, mask, () => coefficients);
    const n = native.gradientNorms(batch, mask, () => coefficients).gradientNorm;
    const refLogits = native.logits(batch);
    native.trainStep(batch, mask, () => coefficients, { learningRate: lr, gradientClipNorm: clip });
    reference = {
      engine: 'native',
      logits: refLogits,
      loss: g.loss,
      gradients: g.gradients,
      gradientNorm: n,
      after: native.getParameters(),
    };
    native.dispose();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-parity-'));
    await writeSafetensors(join(dir, 'model.safetensors'), parameters);
    const rows = (a: ArrayLike<number>) =>
      Array.from({ length: B }, (_, b) => Array.from(a).slice(b * T, (b + 1) * T));
    writeFileSync(
      join(dir, 'batch.json'),
      JSON.stringify({
        config,
        ids: rows(batch.ids),
        mask: rows(mask),
        coefficients,
        lr,
        clip,
      }),
    );
    const script = join(args.repo, 'packages/ml/device/torch_reference.py');
    const r = spawnSync(
      'python3',
      [
        script,
        '--model',
        join(dir, 'model.safetensors'),
        '--batch',
        join(dir, 'batch.json'),
        '--out',
        join(dir, 'ref'),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`torch_reference.py failed: ${r.stderr || r.error}`);
    const { tensors } = await readSafetensors(join(dir, 'ref.safetensors'));
    const json = JSON.parse(readFileSync(join(dir, 'ref.json'), 'utf8')) as {
      loss: number;
      gradientNorm: number;
    };
    const pick = (prefix: string) =>
      new Map(
        [...tensors]
          .filter(([k]) => k.startsWith(prefix))
          .map(([k, v]) => [k.slice(prefix.length), v]),
      );
    reference = {
      engine: 'pytorch-float64',
      logits: tensors.get('logits')?.data ?? [],
      loss: json.loss,
      gradients: pick('grad.'),
      gradientNorm: json.gradientNorm,
      after: pick('after.'),
    };
  }

  const logitsError = maxRelativeError(logits, reference.logits);
  const gradientErrors: Record<string, number> = {};
  for (const [name, g] of reference.gradients) {
    const mine = grads.gradients.get(name);
    gradientErrors[name] = mine ? maxRelativeError(mine.data, g.data) : Number.POSITIVE_INFINITY;
  }
  const worstGradient = Math.max(...Object.values(gradientErrors));
  const lossError = Math.abs(grads.loss - reference.loss) / Math.max(1, Math.abs(reference.loss));

  // One clipped Adam step: the update of each parameter against the reference's, in units of lr.
  const before = cuda.getParameters();
  const step = cuda.trainStep(batch, mask, () => coefficients, {
    learningRate: lr,
    gradientClipNorm: clip,
  });
  const after = cuda.getParameters();
  let maxUpdateError = 0;
  let disagreeing = 0;
  let count = 0;
  for (const [name, ref] of reference.after) {
    const a = after.get(name)?.data;
    const p = before.get(name)?.data;
    if (!a || !p) continue;
    for (let i = 0; i < ref.data.length; i++) {
      const e = Math.abs((a[i] as number) - (ref.data[i] as number)) / lr;
      maxUpdateError = Math.max(maxUpdateError, e);
      if (e > 1e-2) disagreeing += 1;
      count += 1;
    }
  }
  const normError =
    Math.abs(step.gradientNorm - reference.gradientNorm) / Math.max(1e-12, reference.gradientNorm);
  cuda.dispose();
  const families: Record<string, { pass: boolean }> = {};
  for (const name of familyFixtures(args).filter((n) => n !== 'tiny-gpt2'))
    families[name] = await familyParity(join(args.fixtures, name));

  return {
    reference: reference.engine,
    logits_relative_error: logitsError,
    loss_relative_error: lossError,
    worst_gradient_relative_error: worstGradient,
    gradient_relative_errors: gradientErrors,
    gradient_norm_relative_error: normError,
    adam_update_max_error_in_lr: maxUpdateError,
    adam_update_disagreeing_fraction: disagreeing / Math.max(1, count),
    freezing: freezingCheck(config, parameters, batch, mask, coefficients),
    kv_cache: kvCacheCheck(config, parameters),
    sampling: samplingCheck(config, parameters),
    families: families,
    pass:
      Object.values(families).every((f) => f.pass) &&
      logitsError < 1e-3 &&
      lossError < 1e-4 &&
      worstGradient < 1e-3 &&
      normError < 1e-4 &&
      // Adam's first step is ≈ lr · sign(g): where |g| is near ε the two sides may differ by a
      // fraction of lr; a wrong update differs by about lr everywhere.
      maxUpdateError < 0.25 &&
      disagreeing / Math.max(1, count) < 1e-2,
  };
}

/**
 * OPT or XGLM (a fixture's model, its weights scaled so the logits spread): logits, loss and every
 * gradient against the native engine (when built here), the KV cache, and `sample()`.
 */
async function familyParity(dir: string) {
  const { config, parameters } = await readGpt2Checkpoint(dir);
  const V = config.vocab_size;
  const B = 3;
  const T = 8;
  const rng = createRng(2);
  // Ids 0–2 (bos, pad, eos) are left out, as the fixtures' references leave them out.
  const batch = {
    ids: Int32Array.from({ length: B * T }, () => 3 + rng.int(V - 3)),
    batchSize: B,
    length: T,
  };
  const mask = Float32Array.from({ length: B * T }, (_, i) => (i % T === 0 ? 0 : 1));
  const coefficients = () => [1, 0.5, 2];
  const model = makeModel(config, parameters, 'fp32');
  const logits = model.logits(batch);
  const g = model.lossAndGradients(batch, mask, coefficients);
  model.dispose();
  const out: Record<string, unknown> = {};
  let pass = true;
  if (nativeBuilt()) {
    const native = new NativeGpt2(config, parameters);
    const refLogits = native.logits(batch);
    const r = native.lossAndGradients(batch, mask, coefficients);
    native.dispose();
    let worst = 0;
    for (const [name, t] of r.gradients)
      worst = Math.max(worst, maxRelativeError(g.gradients.get(name)?.data ?? [], t.data));
    const logitsError = maxRelativeError(logits, refLogits);
    const lossError = Math.abs(g.loss - r.loss) / Math.max(1, Math.abs(r.loss));
    Object.assign(out, {
      reference: 'native',
      logits_relative_error: logitsError,
      loss_relative_error: lossError,
      worst_gradient_relative_error: worst,
    });
    pass = logitsError < 1e-3 && lossError < 1e-4 && worst < 1e-3;
  } else out.reference = 'none (the native engine is not built here: fixture and step checks only)';
  const kv = kvCacheCheck(config, parameters);
  const sampling = samplingCheck(config, parameters);
  return { ...out, kv_cache: kv, sampling, pass: pass && kv.pass && sampling.pass };
}

/** Training only the last block: the same gradients there, frozen tensors untouched by a step. */
function freezingCheck(
  config: DecoderConfig,
  parameters: TensorMap,
  batch: TokenBatch,
  mask: Float32Array,
  coefficients: number[],
) {
  const all = makeModel(config, parameters, 'fp32');
  const full = all.gradientNorms(batch, mask, () => coefficients).gradientNorms;
  all.dispose();
  const model = makeModel(config, parameters, 'fp32');
  const names = lastBlockParameterNames(config);
  model.setTrainable(names);
  const last = model.gradientNorms(batch, mask, () => coefficients).gradientNorms;
  let worst = 0;
  for (const name of names)
    worst = Math.max(
      worst,
      Math.abs((last[name] as number) - (full[name] as number)) / (full[name] as number),
    );
  model.trainStep(batch, mask, () => coefficients, { learningRate: 1e-2 });
  const after = model.getParameters();
  let frozenMoved = 0;
  let trainedMoved = 0;
  for (const [name, t] of parameters) {
    const a = after.get(name)?.data ?? new Float32Array();
    const moved = t.data.some((x, i) => x !== a[i]);
    if (names.includes(name)) trainedMoved += moved ? 1 : 0;
    else frozenMoved += moved ? 1 : 0;
  }
  model.dispose();
  return {
    same_keys: Object.keys(last).sort().join() === [...names].sort().join(),
    worst_norm_relative_error: worst,
    frozen_tensors_moved: frozenMoved,
    trained_tensors_moved: trainedMoved,
    pass:
      Object.keys(last).length === names.length &&
      worst < 1e-5 &&
      frozenMoved === 0 &&
      trainedMoved === names.length,
  };
}

/** The KV-cached decoder against recomputing the whole prefix, over 10 steps. */
function kvCacheCheck(config: DecoderConfig, parameters: TensorMap) {
  const result: Record<string, unknown> = {};
  for (const precision of ['fp32', 'bf16'] as const) {
    const model = makeModel(config, parameters, precision);
    const B = 4;
    const prefix = randomBatch(7, B, 4, config.vocab_size).ids;
    const cached = model.decoder(B, { cache: true });
    const recompute = model.decoder(B, { cache: false });
    let worst = maxRelativeError(cached.next(prefix, 4), recompute.next(prefix, 4));
    const rng = createRng(8);
    for (let t = 0; t < 10; t++) {
      const step = Int32Array.from({ length: B }, () => rng.int(config.vocab_size));
      worst = Math.max(worst, maxRelativeError(cached.next(step, 1), recompute.next(step, 1)));
    }
    cached.dispose();
    recompute.dispose();
    model.dispose();
    result[precision] = { max_relative_error: worst };
  }
  const fp32 = (result.fp32 as { max_relative_error: number }).max_relative_error;
  return { ...result, pass: fp32 < 1e-4 };
}

/** `sample()` against sampleRow on the same engine's logits, from the same generator state. */
function samplingCheck(config: DecoderConfig, parameters: TensorMap) {
  const settings = [
    { temperature: 0.7, topK: 20, repetitionPenalty: 1.2, eosId: 0 },
    { temperature: 1, topK: 0, repetitionPenalty: 1, eosId: -1 },
    { temperature: 0, topK: 0, repetitionPenalty: 1.3, eosId: 0 },
    { temperature: 1.3, topK: 5, repetitionPenalty: 1, eosId: 3 },
  ];
  const model = makeModel(config, parameters, 'fp32');
  const sample = model.sample?.bind(model);
  if (!sample) {
    model.dispose();
    return { skipped: `${model.backend} has no sample()`, pass: true };
  }
  const B = 8;
  const prefixes = randomBatch(9, B, 3, config.vocab_size).ids;
  const cases = settings.map((s, i) => {
    const o = { ...s, maxLength: Math.min(20, config.n_positions + 1) };
    const engineRng = createRng(100 + i);
    const referenceRng = createRng(100 + i);
    const rngState = engineRng.getState();
    const got = sample(prefixes, B, { ...o, rngState });
    const want = referenceSample(model, prefixes, B, o, referenceRng);
    const sameTokens = got.ids.every((x, j) => x === want.ids[j]);
    const sameMask = got.mask.every((x, j) => x === want.mask[j]);
    const sameState = [...rngState].every((x, j) => x === referenceRng.getState()[j]);
    const logprobError = Math.max(
      ...Array.from(got.tokenLogprobs, (x, j) => Math.abs(x - (want.tokenLogprobs[j] as number))),
      ...Array.from(got.samplingLogprobs, (x, j) =>
        Math.abs(x - (want.samplingLogprobs[j] as number)),
      ),
    );
    return {
      ...s,
      same_tokens: sameTokens,
      same_mask: sameMask,
      same_generator_state: sameState,
      max_logprob_error: logprobError,
      generated: got.mask.reduce((a, b) => a + b, 0),
      pass: sameTokens && sameMask && sameState && logprobError < 1e-5,
    };
  });
  model.dispose();
  return { cases, pass: cases.every((c) => c.pass) };
}

async function rewardDropoutStage(args: CheckArgs) {
  const gpt2 = await rewardDropoutCases(
    join(args.fixtures, 'reward-dropout-step'),
    join(args.fixtures, 'tiny-gpt2'),
  );
  const families: Record<string, { pass: boolean }> = {};
  for (const name of familyFixtures(args).filter((n) => n !== 'tiny-gpt2'))
    families[name] = await rewardDropoutCases(
      join(args.fixtures, name, 'step'),
      join(args.fixtures, name),
    );
  return {
    ...gpt2,
    families,
    pass: gpt2.pass && Object.values(families).every((f) => f.pass),
  };
}

/** A golden reward-dropout step (batch.json, expected.json in `dir`) on a checkpoint's model. */
async function rewardDropoutCases(dir: string, checkpoint: string) {
  const raw = JSON.parse(readFileSync(join(dir, 'batch.json'), 'utf8')) as {
    ids: number[][];
    mask: number[][];
    behaviorLikelihood: number[];
    reward: number[];
  };
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
    cases: Array<Record<string, unknown>>;
  };
  const { config, parameters } = await readGpt2Checkpoint(checkpoint);
  const batch = {
    ids: Int32Array.from(raw.ids.flat()),
    mask: Float32Array.from(raw.mask.flat()),
    batchSize: raw.ids.length,
    length: (raw.ids[0] as number[]).length,
    behaviorLikelihood: Float64Array.from(raw.behaviorLikelihood),
    // The fixture's `reward` is R, the reward-model score.
    rewardModelScore: Float64Array.from(raw.reward),
  };
  const results = expected.cases.map((c) => {
    const dropout = resolveDropoutConfig(c.dropout);
    const model = makeModel(config, parameters, 'fp32');
    const out = rewardDropoutGradients(model, batch, {
      objective: {
        objective: c.objective as Objective,
        dropout,
        importanceWeightClip: c.importanceWeightClip as ImportanceWeightClip,
      },
      likelihood: c.likelihood as LikelihoodKind,
      rng: createRng(0, 'dropout'),
    });
    model.dispose();
    const close = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
    let valueError = close(out.loss, c.loss as number);
    for (const field of [
      'targetLikelihood',
      'rewards',
      'multipliers',
      'weights',
      'coefficients',
    ] as const)
      (c[field] as number[]).forEach((x, b) => {
        // The fixture's `rewards` are r, the bi-objective rewards.
        const got = field === 'rewards' ? out.biObjectiveRewards : out[field];
        valueError = Math.max(valueError, close(got[b] as number, x));
      });
    const keptSame = Array.from(out.kept).every((k, b) => k === (c.kept as number[])[b]);
    const norms = c.gradientNorms as Record<string, number>;
    let normError = close(out.gradientNorm, c.gradientNorm as number);
    for (const [name, x] of Object.entries(norms))
      normError = Math.max(
        normError,
        // Relative to the tensor's norm, with a floor of 1e-3 of the global one: a gradient that
        // is 0 in exact arithmetic (OPT's and XGLM's k_proj bias: softmax ignores a constant
        // shift) is float rounding on both sides.
        Math.abs((out.gradientNorms[name] ?? Number.NaN) - x) /
          Math.max(Math.abs(x), 1e-3 * (c.gradientNorm as number)),
      );
    return {
      name: c.name,
      max_value_error: valueError,
      kept_same: keptSame,
      max_gradient_norm_relative_error: normError,
      pass: valueError < 1e-5 && keptSame && normError < 1e-4,
    };
  });
  return { cases: results, pass: results.every((r) => r.pass) };
}

function trainStage(args: CheckArgs, write: (partial: unknown) => void) {
  const B = args.quick ? 4 : 64;
  const T = args.quick ? 8 : 30;
  const configs: Array<[string, Gpt2Config]> = args.quick
    ? [['tiny', { ...RANDOM, n_positions: T }]]
    : [
        ['anchor', ANCHOR],
        ['gpt2', GPT2],
      ];
  const precisions: CudaPrecision[] = ['fp32', 'bf16', 'tf32'];
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, config] of configs) {
    const parameters = initGpt2Parameters(config, createRng(1, 'bench'));
    const batch = randomBatch(2, B, T, config.vocab_size);
    const mask = new Float32Array(B * T).fill(1);
    for (let b = 0; b < B; b++) mask[b * T] = 0;
    const ones = new Float64Array(B).fill(1);
    out[name] = { params: gpt2ParameterCount(config), batch: B, seq: T };
    for (const precision of precisions) {
      const model = makeModel(config, parameters, precision);
      const step = () => model.trainStep(batch, mask, () => ones, { learningRate: 1e-4 });
      for (let i = 0; i < 3; i++) step();
      const times: number[] = [];
      const steps = args.quick ? 2 : name === 'gpt2' ? 10 : 30;
      for (let i = 0; i < steps; i++) {
        const start = performance.now();
        step();
        times.push((performance.now() - start) / 1000);
      }
      model.dispose();
      const s = median(times);
      (out[name] as Record<string, unknown>)[precision] = {
        tokens_per_s: Math.round((B * T) / s),
        step_s: Number(s.toFixed(5)),
        steps,
      };
      write(out);
    }
  }
  return out;
}

function sampleStage(args: CheckArgs, write: (partial: unknown) => void) {
  const plan: Array<[string, Gpt2Config, number, CudaPrecision[]]> = args.quick
    ? [['tiny', RANDOM, 4, ['fp32']]]
    : [
        ['anchor', ANCHOR, 64, ['fp32', 'bf16']],
        ['anchor', ANCHOR, 1024, ['fp32', 'bf16']],
        ['gpt2', GPT2, 64, ['fp32', 'bf16']],
        ['gpt2', GPT2, 512, ['fp32', 'bf16']],
      ];
  const p = 4;
  const T = args.quick ? 12 : 30;
  const out: Record<string, unknown> = {};
  const made = new Map<string, TensorMap>();
  for (const [name, config, B, precisions] of plan) {
    const parameters = made.get(name) ?? initGpt2Parameters(config, createRng(3, 'bench'));
    made.set(name, parameters);
    const prefixes = randomBatch(4, B, p, config.vocab_size).ids;
    for (const precision of precisions) {
      const model = makeModel(config, parameters, precision);
      const rng = createRng(5);
      const sample = model.sample?.bind(model);
      if (!sample) throw new Error(`${model.backend} has no sample()`);
      const run = () =>
        sample(prefixes, B, {
          maxLength: T,
          temperature: 1,
          topK: 0,
          repetitionPenalty: 1,
          eosId: -1,
          rngState: rng.getState(),
        });
      run();
      const repeats = 3;
      const start = performance.now();
      for (let i = 0; i < repeats; i++) run();
      const seconds = (performance.now() - start) / 1000;
      model.dispose();
      out[`${name}:${B}:${precision}`] = {
        tokens_per_s: Math.round((repeats * B * (T - p)) / seconds),
        new_tokens: T - p,
      };
      write(out);
    }
  }
  return out;
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** Right-padded `[B, T]` ids and lengths of `rows`. */
function paddedRows(rows: number[][], pad: number): { batch: TokenBatch; lengths: Int32Array } {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(pad);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
  });
  return {
    batch: { ids, batchSize: rows.length, length: T },
    lengths: Int32Array.from(rows, (r) => r.length),
  };
}

/** Median seconds of `runs` batched scorings of B × T random ids (after one warm-up). */
function scoringRate(model: BertClassifier, B: number, T: number, runs: number) {
  const rng = createRng(3, 'bert-scoring');
  const rows = Array.from({ length: B }, () =>
    Array.from({ length: T }, () => 1 + rng.int(model.vocabSize - 1)),
  );
  const { batch, lengths } = paddedRows(rows, model.config.pad_token_id);
  model.logits(batch, lengths);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    model.logits(batch, lengths);
    times.push((performance.now() - start) / 1000);
  }
  const s = median(times);
  return {
    batch: B,
    seq: T,
    runs,
    step_s: Number(s.toFixed(5)),
    sequences_per_s: Math.round(B / s),
  };
}

const BERT_BASE: BertConfig = {
  ...bertConfigFromJson({
    model_type: 'bert',
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
  }),
};

async function rewardModelStage(args: CheckArgs) {
  const dir = join(args.fixtures, 'tiny-bert');
  if (!existsSync(dir)) return { pass: false, error: `${dir} is missing: pack.mjs carries it` };
  const config = bertConfigFromJson(
    JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>,
  );
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  const parameters: TensorMap = new Map(
    [...tensors].map(([key, t]) => [bertParameterName(key), t]),
  );
  const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
    cases: Array<{ ids: number[]; logits: number[] }>;
  };
  const { batch, lengths } = paddedRows(
    reference.cases.map((c) => c.ids),
    config.pad_token_id,
  );
  const K = config.num_labels;
  const maxError = (logits: Float32Array) => {
    let max = 0;
    reference.cases.forEach((c, b) => {
      c.logits.forEach((expected, k) => {
        max = Math.max(max, Math.abs((logits[b * K + k] as number) - expected));
      });
    });
    return max;
  };
  // The engines the cuda backend builds for a BERT: the CUDA one for a frozen load (R scoring),
  // the native one for fine-tuning. Both are checked against the float64 reference.
  const cuda = engine === 'cuda' && cudaStatus().available;
  const engines: Array<{
    name: string;
    make: (c: BertConfig, p: TensorMap) => BertClassifier;
    checked: boolean;
  }> = [
    {
      name: 'native',
      make: (c, p) => new NativeBertClassifier(c, p, { frozen: true }),
      checked: true,
    },
    ...(cuda
      ? (['fp32', 'tf32', 'bf16'] as const).map((precision) => ({
          name: `cuda ${precision}`,
          make: (c: BertConfig, p: TensorMap) => new CudaBertClassifier(c, p, precision),
          // tf32 and bf16 round the GEMM inputs (10 and 8 mantissa bits): reported, not held to 1e-4.
          checked: precision === 'fp32',
        }))
      : []),
  ];
  const results: Record<string, unknown> = {};
  let pass = true;
  for (const engine of engines) {
    const model = engine.make(config, parameters);
    try {
      const error = maxError(model.logits(batch, lengths));
      if (engine.checked) pass &&= error < 1e-4;
      const timing: Record<string, unknown> = {
        'tiny-bert': scoringRate(model, args.quick ? 16 : 256, config.max_position_embeddings, 5),
      };
      if (!args.quick) {
        const base = engine.make(
          BERT_BASE,
          initBertParameters(BERT_BASE, createRng(1, 'bert-base')),
        );
        try {
          // The CPU at 64 × 32; the GPU also at 256 × 128 (R scoring a bootstrap's batches).
          timing['bert-base'] = scoringRate(base, 64, 32, 3);
          if (engine.name.startsWith('cuda'))
            timing['bert-base 256x128'] = scoringRate(base, 256, 128, 5);
        } finally {
          base.dispose();
        }
      }
      results[engine.name] = { max_abs_error: error, checked: engine.checked, scoring: timing };
    } finally {
      model.dispose();
    }
  }
  return {
    pass,
    tolerance: 1e-4,
    engines: results,
    cuda_bert: cuda ? 'checked' : 'not run: the CUDA addon or a GPU is missing',
    cases: reference.cases.length,
  };
}

/** The figures side by side: rdlab's CUDA engine and PyTorch on the same GPU, same shapes. */
function summaryStage(args: CheckArgs) {
  const at = (name: string) => readJson(join(args.out, name));
  const env = at('env.json');
  const checks = Object.fromEntries(
    ['fixture', 'parity', 'reward-dropout', 'reward-model'].map((s) => [
      s,
      at(`${s}.json`)?.pass ?? 'not run',
    ]),
  );
  const train = (at('train.json') ?? {}) as Record<
    string,
    Record<string, { tokens_per_s?: number }>
  >;
  const torch = (at('torch.json') ?? {}) as {
    train?: Record<string, Record<string, { tokens_per_s?: number }>>;
    sample?: Record<string, Record<string, { tokens_per_s?: number }>>;
  };
  const rows: Array<Record<string, unknown>> = [];
  for (const name of ['anchor', 'gpt2']) {
    const t = torch.train?.[name] ?? {};
    const eager = t['eager-fp32']?.tokens_per_s;
    for (const precision of ['fp32', 'bf16', 'tf32']) {
      const mine = train[name]?.[precision]?.tokens_per_s;
      rows.push({
        model: name,
        rdlab: `cuda ${precision}`,
        tokens_per_s: mine ?? null,
        vs_torch_eager_fp32: mine && eager ? Number((mine / eager).toFixed(2)) : null,
        vs_torch_compile_fp32:
          mine && t['compile-fp32']?.tokens_per_s
            ? Number((mine / (t['compile-fp32'].tokens_per_s as number)).toFixed(2))
            : null,
        vs_torch_autocast_bf16:
          mine && t['autocast-bf16']?.tokens_per_s
            ? Number((mine / (t['autocast-bf16'].tokens_per_s as number)).toFixed(2))
            : null,
      });
    }
  }
  const sample = (at('sample.json') ?? {}) as Record<string, { tokens_per_s?: number }>;
  const sampling = Object.entries(sample).map(([key, v]) => {
    const theirs = torch.sample?.[key] ?? {};
    return {
      key,
      rdlab_tokens_per_s: v.tokens_per_s ?? null,
      torch_kv_loop: theirs['kv-loop']?.tokens_per_s ?? null,
      hf_generate: theirs['hf-generate']?.tokens_per_s ?? null,
    };
  });
  const throughputs = throughputRow(
    String(env?.gpu ?? 'unknown GPU'),
    train.gpt2?.fp32?.tokens_per_s,
    sample['gpt2:512:fp32']?.tokens_per_s,
  );
  if (throughputs)
    writeFileSync(join(args.out, 'throughputs-cuda.json'), JSON.stringify(throughputs, null, 2));
  return { gpu: env?.gpu ?? null, checks, train: rows, sampling, throughputs };
}

/**
 * The `cuda` row of packages/plan/src/throughputs.json (what `rdlab plan` estimates from), in
 * its cost model: 6·N FLOPs per trained token, 2·N per generated token, N = GPT-2 124M's
 * parameters. Training at batch 64 × 30 and sampling at batch 512, both fp32.
 */
export function throughputRow(
  gpu: string,
  trainTokensPerS: number | undefined,
  sampleTokensPerS: number | undefined,
) {
  if (!trainTokensPerS || !sampleTokensPerS) return null;
  const N = gpt2ParameterCount(GPT2);
  const today = new Date().toISOString().slice(0, 10);
  const sig = (x: number) => Number(x.toPrecision(3));
  return {
    backend: 'cuda',
    reference: false,
    trainFlops: {
      flopsPerS: sig(6 * N * trainTokensPerS),
      measuredOn: today,
      machine: `1 × ${gpu}`,
      how: `packages/ml/device/check.sh (train): GPT-2 124M shape, fp32, batch 64 × 30: ${Math.round(trainTokensPerS)} tokens/s × 6 × ${N} parameters`,
    },
    decodeFlops: {
      flopsPerS: sig(2 * N * sampleTokensPerS),
      measuredOn: today,
      machine: `1 × ${gpu}`,
      how: `packages/ml/device/check.sh (sample): sample() on GPT-2 124M, fp32, batch 512, prefix 4 to 30 tokens, temperature 1, KV cache: ${Math.round(sampleTokensPerS)} new tokens/s × 2 × ${N} parameters`,
    },
  };
}

// ------------------------------------------------------------------ main

export async function main(argv: string[], env: Record<string, string | undefined>) {
  const args = parseArgs(argv, env);
  engine = args.engine;
  if (args.dryRun) {
    console.log(JSON.stringify(args));
    return 0;
  }
  mkdirSync(args.out, { recursive: true });
  const status = cudaStatus();
  if (args.engine === 'cuda' && !status.available && args.stages.some((s) => s !== 'summary')) {
    writeFileSync(join(args.out, 'unavailable.json'), JSON.stringify(status, null, 1));
    console.error(`cuda engine unavailable: ${status.reason}`);
  }
  let failed = 0;
  for (const stage of args.stages) {
    const file = join(args.out, `${stage}.json`);
    const write = (partial: unknown) =>
      writeFileSync(file, JSON.stringify({ partial: true, result: partial }, null, 1));
    const start = performance.now();
    try {
      let result: unknown;
      if (stage === 'fixture') result = await fixtureStage(args);
      else if (stage === 'parity') result = await parityStage(args);
      else if (stage === 'reward-dropout') result = await rewardDropoutStage(args);
      else if (stage === 'train') result = trainStage(args, write);
      else if (stage === 'sample') result = sampleStage(args, write);
      else if (stage === 'reward-model') result = await rewardModelStage(args);
      else result = summaryStage(args);
      const seconds = Number(((performance.now() - start) / 1000).toFixed(2));
      writeFileSync(file, JSON.stringify({ seconds, ...(result as object) }, null, 1));
      const pass = (result as { pass?: boolean }).pass;
      if (pass === false) failed += 1;
      console.log(
        `${stage}: ${pass === undefined ? 'done' : pass ? 'pass' : 'FAIL'} (${seconds} s)`,
      );
    } catch (error) {
      failed += 1;
      const message = (error as Error).stack ?? String(error);
      writeFileSync(file, JSON.stringify({ error: message }, null, 1));
      console.error(`${stage}: error: ${message}`);
    }
  }
  if (args.stages.includes('summary'))
    console.log(readFileSync(join(args.out, 'summary.json'), 'utf8'));
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && /check\.(mjs|ts)$/.test(process.argv[1])) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(error.message);
      process.exitCode = 2;
    },
  );
}
