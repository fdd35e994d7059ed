/**
 * `rdlab model step`: one reward-dropout step on a given batch, every quantity of the update
 * printed, so the step can be checked against another implementation of the authors' update
 * (`../shared/fixtures/reward-dropout-step` holds one).
 */
import { readFile } from 'node:fs/promises';
import {
  createRng,
  type DropoutConfig,
  dropoutKinds,
  dropoutSyntax,
  type ImportanceWeightClip,
  LIKELIHOOD_KINDS,
  type LikelihoodKind,
  OBJECTIVES,
  type Objective,
  parseDropoutLabel,
} from '@rdlab/core';
import {
  type BehaviorBatch,
  initBackend,
  loadLanguageModel,
  rewardDropoutGradients,
  rewardDropoutStep,
  saveLanguageModel,
} from '@rdlab/ml';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

export interface ModelStepOptions {
  model: string;
  batch: string;
  dropout: string;
  objective: string;
  likelihood: string;
  importanceWeightClip: string;
  seed: string;
  lr?: string;
  out?: string;
  backend?: string;
  json?: boolean;
}

function number(flag: string, text: string, check: (x: number) => boolean, allowed: string) {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || !check(x))
    throw new CliError(`${flag}: expected ${allowed}, got '${text}'`);
  return x;
}

/** `--dropout`: a dropout label, the form reports and the API write (`quantile-0.8`). */
export function parseDropout(text: string): DropoutConfig {
  try {
    return parseDropoutLabel(text);
  } catch (error) {
    throw new CliError(`--dropout: ${(error as Error).message}`);
  }
}

export function parseImportanceWeightClip(text: string): ImportanceWeightClip {
  const [kind, bound] = text.split(':');
  if ((kind !== 'norm' && kind !== 'sample') || bound === undefined)
    throw new CliError(
      `--importance-weight-clip: expected norm:<bound> or sample:<bound>, got '${text}'`,
    );
  return { kind, bound: number('--importance-weight-clip', bound, (x) => x > 0, 'a bound > 0') };
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T))
    throw new CliError(`--${flag}: expected one of ${allowed.join(', ')}, got '${text}'`);
  return text as T;
}

/** Reads and checks the batch file: `{ids [B][T], mask [B][T], behaviorLikelihood [B], reward [B]}`. */
export async function readStepBatch(path: string, vocabSize: number): Promise<BehaviorBatch> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(`--batch ${path}: ${(error as Error).message}`);
  }
  const fail = (field: string, what: string): never => {
    throw new CliError(`--batch ${path}: '${field}' ${what}`);
  };
  const b = raw as Record<string, unknown>;
  const matrix = (field: string) => {
    const m = b[field];
    if (!Array.isArray(m) || m.length === 0 || !m.every((row) => Array.isArray(row)))
      fail(field, 'must be a non-empty array of rows');
    return m as unknown[][];
  };
  const ids = matrix('ids');
  const mask = matrix('mask');
  const B = ids.length;
  const T = (ids[0] as unknown[]).length;
  if (T < 2) fail('ids', 'rows must have at least 2 tokens');
  ids.forEach((row, i) => {
    if (row.length !== T) fail(`ids[${i}]`, `has ${row.length} tokens, expected ${T} like row 0`);
    for (const id of row)
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= vocabSize)
        fail(`ids[${i}]`, `holds ${String(id)}: token ids must be integers in [0, ${vocabSize})`);
  });
  if (mask.length !== B) fail('mask', `has ${mask.length} rows, expected ${B} like ids`);
  mask.forEach((row, i) => {
    if (row.length !== T) fail(`mask[${i}]`, `has ${row.length} entries, expected ${T}`);
    if (row.some((x) => x !== 0 && x !== 1)) fail(`mask[${i}]`, 'must hold only 0 and 1');
    if (row[0] === 1) fail(`mask[${i}]`, 'position 0 has no previous token and cannot count');
    if (!row.includes(1)) fail(`mask[${i}]`, 'must mark at least one position');
  });
  const vector = (field: string, check: (x: number) => boolean, allowed: string) => {
    const v = b[field];
    if (!Array.isArray(v) || v.length !== B) fail(field, `must be an array of ${B} numbers`);
    (v as unknown[]).forEach((x, i) => {
      if (typeof x !== 'number' || !Number.isFinite(x) || !check(x))
        fail(`${field}[${i}]`, `is ${String(x)}: expected ${allowed}`);
    });
    return Float64Array.from(v as number[]);
  };
  return {
    ids: Int32Array.from(ids.flat() as number[]),
    mask: Float32Array.from(mask.flat() as number[]),
    batchSize: B,
    length: T,
    behaviorLikelihood: vector('behaviorLikelihood', (x) => x >= 0 && x <= 1, 'a probability'),
    // The batch file's `reward` is R, the reward-model score (the fixture's field name).
    rewardModelScore: vector('reward', () => true, 'a finite number'),
  };
}

export async function modelStep(options: ModelStepOptions): Promise<Record<string, unknown>> {
  const dropout = parseDropout(options.dropout);
  const objective: Objective = oneOf('objective', options.objective, OBJECTIVES);
  const likelihood: LikelihoodKind = oneOf('likelihood', options.likelihood, LIKELIHOOD_KINDS);
  const importanceWeightClip = parseImportanceWeightClip(options.importanceWeightClip);
  const seed = number(
    '--seed',
    options.seed,
    (x) => Number.isInteger(x) && x >= 0,
    'an integer ≥ 0',
  );
  if ((options.lr === undefined) !== (options.out === undefined))
    throw new CliError(
      '--lr and --out go together: the step is taken and the model saved to --out',
    );
  const lr =
    options.lr === undefined
      ? null
      : number('--lr', options.lr, (x) => x > 0, 'a learning rate > 0');
  await initBackend(options.backend, () => {});
  const lm = await loadLanguageModel(options.model).catch((error: Error) => {
    throw new CliError(`--model: ${error.message}`);
  });
  try {
    const batch = await readStepBatch(options.batch, lm.config.vocab_size);
    if (batch.length > lm.config.n_positions)
      throw new CliError(
        `--batch: rows of ${batch.length} tokens exceed the model's ${lm.config.n_positions} positions`,
      );
    const objectiveConfig = { objective, dropout, importanceWeightClip };
    const out = rewardDropoutGradients(lm, batch, {
      objective: objectiveConfig,
      likelihood,
      rng: createRng(seed, 'dropout'),
    });
    if (lr !== null && options.out) {
      // The same step for real: same batch, same draws, no gradient clipping (the authors').
      rewardDropoutStep(lm, batch, {
        objective: objectiveConfig,
        likelihood,
        adam: { learningRate: lr, gradientClipNorm: 0 },
        rng: createRng(seed, 'dropout'),
      });
      await saveLanguageModel(options.out, lm);
    }
    return {
      loss: out.loss,
      targetLikelihood: Array.from(out.targetLikelihood),
      // r, the bi-objective rewards, under the fixture's field name.
      rewards: Array.from(out.biObjectiveRewards),
      multipliers: Array.from(out.multipliers),
      kept: Array.from(out.kept),
      weights: Array.from(out.weights),
      coefficients: Array.from(out.coefficients),
      gradientNorm: out.gradientNorm,
      gradientNorms: out.gradientNorms,
      backend: lm.backend,
    };
  } finally {
    lm.dispose();
  }
}

export function registerModelStepCommand(model: Command): void {
  model
    .command('step')
    .description(
      'one reward-dropout step on a batch: r, m, kept, w, coefficients, loss, gradient norms',
    )
    .requiredOption(
      '--model <dir>',
      'a GPT-2, OPT or XGLM checkpoint directory (config.json + model.safetensors)',
    )
    .requiredOption(
      '--batch <file.json>',
      '{"ids": [[…T]…B], "mask": [[0/1…]…], "behaviorLikelihood": [B], "reward": [B]}',
    )
    .option('--dropout <label>', dropoutKinds().map(dropoutSyntax).join(' | '), 'none')
    .option('--objective <name>', 'total (m = r − ln π̄) | bi-objective (m = r)', 'total')
    .option('--likelihood <kind>', 'mean | geometric', 'mean')
    .option(
      '--importance-weight-clip <clip>',
      'w clipped by batch L2 norm or per sample: norm:<bound> | sample:<bound>',
      'norm:1',
    )
    .option('--seed <n>', 'seed of random dropout', '0')
    .option('--lr <x>', 'take the step with this learning rate (needs --out)')
    .option('--out <dir>', 'where the updated model is saved (needs --lr)')
    .option(
      '--backend <name>',
      'compute backend (default: RDLAB_BACKEND or the fastest that loads)',
    )
    .option('--json', 'print one JSON object')
    .action(async (options: ModelStepOptions) => {
      const out = await modelStep(options);
      if (options.json) {
        console.log(JSON.stringify(out));
        return;
      }
      const row = (name: string, xs: unknown) =>
        console.log(
          `${name.padEnd(18)} ${(xs as number[]).map((x) => Number(x).toFixed(5)).join(' ')}`,
        );
      for (const name of [
        'targetLikelihood',
        'rewards',
        'multipliers',
        'kept',
        'weights',
        'coefficients',
      ])
        row(name, out[name]);
      console.log(`${'loss'.padEnd(18)} ${(out.loss as number).toFixed(6)}`);
      console.log(`${'gradientNorm'.padEnd(18)} ${(out.gradientNorm as number).toFixed(6)}`);
    });
}
