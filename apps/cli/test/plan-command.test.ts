import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');

function rdlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rdlab plan', () => {
  it('prints the Table 1 plan: 66 cells and a native estimate in days or more', () => {
    const r = rdlab('plan', 'examples/table1.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /66 cells over 2 datasets and 6 attributes/);
    assert.match(r.stdout, /target π\s+gpt2-124m\s+124,439,808/);
    assert.match(r.stdout, /behaviour samples\s+3,000,000\s+in 60 shards/);
    const total = r.stdout.split('\n').find((l) => l.startsWith('total'));
    assert.ok(total, r.stdout);
    // The first estimate column is native's.
    const native = total.split(/\s{2,}/)[2];
    assert.match(native ?? '', /^≥ [\d.]+ (d|months|years)$/, total);
    assert.match(r.stdout, /on 8 workers/);
  });

  it('--json prints the plan with its counts, stages and estimates; --backend keeps one row', () => {
    const r = rdlab('plan', 'examples/table1.yaml', '--json', '--backend', 'native');
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      cells: number;
      shards: number;
      samples: number;
      trainingSteps: number;
      evaluations: number;
      stages: Array<{ stage: string; jobs: number; flops: number | null }>;
      estimates: Array<{ backend: string; measuredOn: string; totalSeconds: number | null }>;
      assumptions: string[];
    };
    assert.equal(plan.cells, 66);
    assert.equal(plan.shards, 60);
    assert.equal(plan.samples, 3_000_000);
    assert.equal(plan.trainingSteps, 66 * 5 * Math.floor(50_000 / 64));
    assert.equal(plan.evaluations, 66 * 6);
    assert.deepEqual(
      plan.stages.map((s) => s.stage),
      ['prepare', 'bootstrap', 'train', 'evaluate'],
    );
    assert.deepEqual(
      plan.estimates.map((e) => e.backend),
      ['native'],
    );
    assert.ok((plan.estimates[0]?.totalSeconds ?? 0) > 86_400);
    assert.match(plan.estimates[0]?.measuredOn ?? '', /^\d{4}-\d{2}-\d{2}/);
    assert.ok(plan.assumptions.length > 0);
  });

  it("--throughputs adds the device check's cuda row, and names a bad field", () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-throughputs-'));
    const measured = (flopsPerS: number) => ({
      flopsPerS,
      measuredOn: '2026-11-27',
      machine: '1 × NVIDIA H100',
      how: 'packages/ml/device/check.sh',
    });
    const row = {
      backend: 'cuda',
      reference: false,
      trainFlops: measured(4e13),
      decodeFlops: measured(2e12),
    };
    writeFileSync(join(dir, 'cuda.json'), JSON.stringify(row));
    const r = rdlab(
      'plan',
      'examples/table1.yaml',
      '--json',
      '--throughputs',
      join(dir, 'cuda.json'),
      '--backend',
      'cuda',
    );
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as {
      estimates: Array<{ backend: string; trainFlopsPerS: number; totalSeconds: number }>;
    };
    assert.deepEqual(
      plan.estimates.map((e) => [e.backend, e.trainFlopsPerS]),
      [['cuda', 4e13]],
    );
    assert.ok(plan.estimates[0]!.totalSeconds > 0);
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ ...row, trainFlops: { ...row.trainFlops, flopsPerS: 0 } }),
    );
    const bad = rdlab('plan', 'examples/table1.yaml', '--throughputs', join(dir, 'bad.json'));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /row 0: 'trainFlops\.flopsPerS' must be a number > 0/);
  });

  it('names the known backends for an unknown --backend, with exit 2', () => {
    const r = rdlab('plan', 'examples/table1.yaml', '--backend', 'cuda');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown backend 'cuda': one of native, wasm/);
  });

  it('rejects a bad spec with exit 2 and each problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-plan-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'datasets:\n  - { name: y, source: d, format: agnews-csv, attributes: [world] }\ndropout:\n  - { kind: quantile, gamma: 2 }\ntraining: { epoch: 3 }\n',
    );
    const r = rdlab('plan', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /2 problems/);
    assert.match(r.stderr, /\/dropout\/0\/gamma: must be ≤ 1/);
    assert.match(r.stderr, /\/training\/epoch: unknown key 'epoch'/);
    assert.equal(rdlab('plan', join(dir, 'missing.yaml')).code, 2);
  });
});
