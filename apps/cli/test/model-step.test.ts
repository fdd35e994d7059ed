/**
 * `rdlab model step` against `../shared/fixtures/reward-dropout-step`: an independent float64
 * implementation of the authors' update (`RLHF_train.py:385,415`), four settings, on both engines.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dropoutLabel, resolveDropoutConfig } from '@rdlab/core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');
const fixtures = join(root, '..', 'shared', 'fixtures');
const model = join(fixtures, 'tiny-gpt2');
const stepDir = join(fixtures, 'reward-dropout-step');
const skip = existsSync(stepDir) ? false : '../shared/fixtures/reward-dropout-step is absent';

interface Case {
  name: string;
  dropout: { kind: string; gamma?: number; delta?: number };
  objective: string;
  likelihood: string;
  importanceWeightClip: { kind: string; bound: number };
  [field: string]: unknown;
}

function rdlab(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// The fixture's dropout in the one written form of a dropout (`quantile-0.5`).
const flag = (d: Case['dropout']) => dropoutLabel(resolveDropoutConfig(d));

function close(actual: number, expected: number, tolerance: number, what: string) {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

describe("rdlab model step matches the authors' update", { skip }, () => {
  const cases = skip
    ? []
    : (JSON.parse(readFileSync(join(stepDir, 'expected.json'), 'utf8')) as { cases: Case[] }).cases;
  for (const backend of ['native', 'wasm']) {
    for (const c of cases) {
      it(`${c.name} on ${backend}: values to 1e-5, gradient norms to 1e-4 relative`, () => {
        const r = rdlab([
          'model',
          'step',
          '--model',
          model,
          '--batch',
          join(stepDir, 'batch.json'),
          '--dropout',
          flag(c.dropout),
          '--objective',
          c.objective,
          '--likelihood',
          c.likelihood,
          '--importance-weight-clip',
          `${c.importanceWeightClip.kind}:${c.importanceWeightClip.bound}`,
          '--backend',
          backend,
          '--json',
        ]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as Record<string, unknown>;
        assert.equal(out.backend, backend);
        close(out.loss as number, c.loss as number, 1e-5, 'loss');
        for (const field of [
          'targetLikelihood',
          'rewards',
          'multipliers',
          'weights',
          'coefficients',
        ]) {
          (c[field] as number[]).forEach((x, b) => {
            close((out[field] as number[])[b] as number, x, 1e-5, `${field}[${b}]`);
          });
        }
        assert.deepEqual(out.kept, c.kept);
        close(out.gradientNorm as number, c.gradientNorm as number, 1e-4, 'gradientNorm');
        const norms = out.gradientNorms as Record<string, number>;
        const expected = c.gradientNorms as Record<string, number>;
        assert.deepEqual(Object.keys(norms).sort(), Object.keys(expected).sort());
        for (const [name, x] of Object.entries(expected)) {
          const y = norms[name] as number;
          assert.ok(
            Math.abs(y - x) <= 1e-4 * Math.abs(x) + 1e-9,
            `gradientNorms.${name}: ${y} vs ${x}`,
          );
        }
      });
    }
  }

  it('--lr/--out takes the step and saves a model whose loss on the batch moved', () => {
    const out = mkdtempSync(join(tmpdir(), 'rdlab-step-'));
    const args = [
      'model',
      'step',
      '--model',
      model,
      '--batch',
      join(stepDir, 'batch.json'),
      '--json',
    ];
    const stepped = rdlab([...args, '--lr', '0.01', '--out', out]);
    assert.equal(stepped.code, 0, stepped.stderr);
    const after = rdlab([
      'model',
      'step',
      '--model',
      out,
      '--batch',
      join(stepDir, 'batch.json'),
      '--json',
    ]);
    assert.equal(after.code, 0, after.stderr);
    const [a, b] = [stepped, after].map(
      (r) => JSON.parse(r.stdout) as { targetLikelihood: number[] },
    );
    assert.notDeepEqual(a!.targetLikelihood, b!.targetLikelihood);
  });

  it('names the bad flag or field and what is allowed', () => {
    const batch = join(mkdtempSync(join(tmpdir(), 'rdlab-step-')), 'bad.json');
    writeFileSync(
      batch,
      JSON.stringify({ ids: [[1, 2, 3]], mask: [[0, 1, 1]], behaviorLikelihood: [2], reward: [0] }),
    );
    const base = ['model', 'step', '--model', model];
    assert.match(
      rdlab([...base, '--batch', batch]).stderr,
      /'behaviorLikelihood\[0\]' is 2: expected a probability/,
    );
    const good = join(stepDir, 'batch.json');
    assert.match(
      rdlab([...base, '--batch', good, '--dropout', 'quantile-2']).stderr,
      /--dropout: quantile dropout: gamma must be ≤ 1, got 2/,
    );
    assert.match(
      rdlab([...base, '--batch', good, '--dropout', 'quantile:0.5']).stderr,
      /--dropout: expected one of none, random-<γ>\[-distinct\], quantile-<γ>, threshold-<δ>/,
    );
    assert.match(
      rdlab([...base, '--batch', good, '--objective', 'totl']).stderr,
      /--objective: expected one of bi-objective, total/,
    );
    assert.match(
      rdlab([...base, '--batch', good, '--lr', '0.1']).stderr,
      /--lr and --out go together/,
    );
    assert.equal(rdlab([...base, '--batch', good, '--importance-weight-clip', 'max:1']).code, 2);
  });
});

// The decoder families beside GPT-2: `tiny-opt/step` and `tiny-xglm/step` hold the same golden
// step for OPT and XGLM (cases none and quantile-0.5), gradient norms keyed by each checkpoint's
// own tensor names (`decoder.layers.0.fc1.weight`, `model.layers.0.fc1.weight`).
for (const family of ['opt', 'xglm']) {
  const familyDir = join(fixtures, `tiny-${family}`);
  const familySkip = existsSync(join(familyDir, 'step'))
    ? false
    : `../shared/fixtures/tiny-${family}/step is absent`;
  describe(`rdlab model step on tiny-${family} matches the golden step`, {
    skip: familySkip,
  }, () => {
    const cases = familySkip
      ? []
      : (
          JSON.parse(readFileSync(join(familyDir, 'step', 'expected.json'), 'utf8')) as {
            cases: Case[];
          }
        ).cases;
    for (const backend of ['native', 'wasm']) {
      for (const c of cases) {
        it(`${c.name} on ${backend}: loss to 1e-5, gradient norms by tensor name to 1e-3 relative`, () => {
          const r = rdlab([
            'model',
            'step',
            '--model',
            familyDir,
            '--batch',
            join(familyDir, 'step', 'batch.json'),
            '--dropout',
            flag(c.dropout),
            '--objective',
            c.objective,
            '--likelihood',
            c.likelihood,
            '--importance-weight-clip',
            `${c.importanceWeightClip.kind}:${c.importanceWeightClip.bound}`,
            '--backend',
            backend,
            '--json',
          ]);
          assert.equal(r.code, 0, r.stderr);
          const out = JSON.parse(r.stdout) as Record<string, unknown>;
          assert.equal(out.backend, backend);
          close(out.loss as number, c.loss as number, 1e-5, 'loss');
          for (const field of ['targetLikelihood', 'coefficients'])
            (c[field] as number[]).forEach((x, b) => {
              close((out[field] as number[])[b] as number, x, 1e-5, `${field}[${b}]`);
            });
          assert.deepEqual(out.kept, c.kept);
          close(out.gradientNorm as number, c.gradientNorm as number, 1e-4, 'gradientNorm');
          const norms = out.gradientNorms as Record<string, number>;
          const expected = c.gradientNorms as Record<string, number>;
          assert.deepEqual(Object.keys(norms).sort(), Object.keys(expected).sort());
          // k_proj.bias's gradient is 0 in exact arithmetic (softmax ignores a constant per row):
          // float32 leaves ~1e-8, hence the absolute floor.
          for (const [name, x] of Object.entries(expected)) {
            const y = norms[name] as number;
            assert.ok(
              Math.abs(y - x) <= 1e-3 * Math.abs(x) + 1e-6,
              `gradientNorms.${name}: ${y} vs ${x}`,
            );
          }
        });
      }
    }
  });
}
