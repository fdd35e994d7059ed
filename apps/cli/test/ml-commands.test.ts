import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');

function rdlab(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rdlab model, bench, doctor, eval-text', () => {
  for (const family of ['tiny-gpt2', 'tiny-opt', 'tiny-xglm']) {
    const dir = join(root, '..', 'shared', 'fixtures', family);
    it(`model logprobs prints ${family}'s reference log-probabilities as JSON (1e-4)`, {
      skip: existsSync(dir) ? false : `../shared/fixtures/${family} is absent`,
    }, () => {
      const reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
        cases: Array<{ ids: number[]; token_logprobs: number[] }>;
      };
      for (const c of reference.cases) {
        const ids = c.ids.join(',');
        const r = rdlab(['model', 'logprobs', '--model', dir, '--ids', ids, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { token_logprobs: number[] };
        assert.equal(out.token_logprobs.length, c.token_logprobs.length, ids);
        out.token_logprobs.forEach((x, t) => {
          assert.ok(Math.abs(x - (c.token_logprobs[t] as number)) < 1e-4, `${ids} at ${t}`);
        });
      }
    });
  }

  it('model logprobs names a bad --ids and a missing checkpoint', () => {
    assert.match(
      rdlab(['model', 'logprobs', '--model', '.', '--ids', '3,x']).stderr,
      /--ids must be two or more comma-separated token ids/,
    );
    const missing = rdlab(['model', 'logprobs', '--model', '/no/such/model', '--ids', '1,2']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /config\.json is missing/);
  });

  it('bench train --json prints backend, params, tokens_per_s and step_s', () => {
    const r = rdlab([
      'bench',
      'train',
      '--vocab',
      '64',
      '--dim',
      '16',
      '--layers',
      '1',
      '--heads',
      '2',
      '--batch',
      '4',
      '--seq',
      '8',
      '--steps',
      '1',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ['backend', 'params', 'tokens_per_s', 'step_s']);
    assert.equal(out.params, 64 * 16 + 8 * 16 + 12 * 16 * 16 + 13 * 16 + 2 * 16);
    assert.ok((out.tokens_per_s as number) > 0);
  });

  it('doctor --json reports the backend, why others were skipped, and a matmul rate', () => {
    const r = rdlab(['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      skipped: Array<{ name: string; reason: string }>;
      matmul_gflops: number;
    };
    assert.ok(
      ['cuda', 'tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'].includes(out.backend),
    );
    assert.ok(out.skipped.every((s) => s.reason.length > 0));
    assert.ok(out.matmul_gflops > 0);
  });

  it('doctor names the cuda engine first: its device, or why it is unavailable', () => {
    const r = rdlab(['doctor', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      backend: string;
      skipped: Array<{ name: string; reason: string }>;
      cuda: { available: boolean; reason?: string; device?: string };
    };
    if (out.cuda.available) {
      // A GPU machine with the engine built: the default chain stops at cuda.
      assert.equal(out.backend, 'cuda');
      assert.ok((out.cuda.device ?? '').length > 0);
      return;
    }
    // Not built (with the build's reason), not loadable, or no driver / device: never a stack.
    assert.match(
      out.cuda.reason ?? '',
      /^(not built: .+|cannot load .+|no CUDA (driver|device).*|RDLAB_CUDA_PRECISION=.+)$/,
    );
    assert.deepEqual(out.skipped[0], { name: 'cuda', reason: out.cuda.reason });
    const text = rdlab(['doctor']);
    assert.ok(text.stdout.includes(`skipped     cuda: ${out.cuda.reason}`), text.stdout);
    assert.ok(text.stdout.includes(`cuda          unavailable: ${out.cuda.reason}`), text.stdout);
  });

  it('an unknown RDLAB_BACKEND is refused with the list of backends', () => {
    const r = rdlab(['doctor'], { RDLAB_BACKEND: 'tpu' });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /RDLAB_BACKEND='tpu' is not a backend; choose one of cuda, tensorflow-gpu, tensorflow, native, wasm, cpu/,
    );
  });

  it('eval-text prints the metrics of two files and refuses files of different lengths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-eval-'));
    writeFileSync(join(dir, 'h.txt'), 'the quick brown dog jumps on the log .\nthe cat sat\n');
    writeFileSync(
      join(dir, 'r.txt'),
      'the quick brown fox jumps over the lazy dog\nthe cat is here\n',
    );
    const r = rdlab([
      'eval-text',
      '--hypotheses',
      join(dir, 'h.txt'),
      '--references',
      join(dir, 'r.txt'),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(r.stdout) as Record<string, number>;
    for (const key of ['bleu', 'rouge1', 'rouge2', 'rougeL', 'meteor'])
      assert.equal(typeof m[key], 'number', key);
    assert.ok(
      Math.abs(
        (m.rouge1 as number) - (0.7058823529411765 + (2 * (2 / 3) * (2 / 4)) / (2 / 3 + 2 / 4)) / 2,
      ) < 1e-9,
    );
    writeFileSync(join(dir, 'r.txt'), 'one line\n');
    const bad = rdlab([
      'eval-text',
      '--hypotheses',
      join(dir, 'h.txt'),
      '--references',
      join(dir, 'r.txt'),
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--hypotheses has 2 lines but --references has 1/);
  });

  it('run names an unreadable dataset and exits 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-run-'));
    writeFileSync(
      join(dir, 's.yaml'),
      'datasets: [{ name: y, source: ./missing, format: yelp-style-transfer, attributes: [negative] }]\ndropout: [{ kind: none }]\n',
    );
    const r = rdlab([
      'run',
      join(dir, 's.yaml'),
      '--local',
      '--out',
      join(dir, 'out'),
      '--store',
      join(dir, 'store'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\.\/missing: no such file or directory \(resolved to .*missing\)/);
  });

  it('run refuses a spec with problems before doing any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-run-'));
    writeFileSync(join(dir, 'bad.yaml'), 'datasets: []\ndropout: [{ kind: none }]\n');
    const r = rdlab(['run', join(dir, 'bad.yaml'), '--local', '--out', join(dir, 'out')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /\/datasets: must have at least 1 item/);
    assert.equal(existsSync(join(dir, 'out')), false);
  });
});
