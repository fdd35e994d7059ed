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

describe('rdlab spec', () => {
  it('validate accepts the Table 1 example with a one-line summary', () => {
    const r = rdlab('spec', 'validate', 'examples/table1.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assert.match(
      r.stdout,
      /valid, 66 cells = 6 attributes × 1 target × 11 dropout variants × 1 seed/,
    );
  });

  it('validate rejects a broken spec with exit 2 and a path for each problem, no stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-spec-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'datasets:\n  - { name: y, source: d, format: agnews-csv, attributes: [world, sport] }\ndropout:\n  - { kind: quantile, gamma: [0.5, 2] }\ntraining: { epoch: 3 }\n',
    );
    const r = rdlab('spec', 'validate', file);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /3 problems/);
    assert.match(r.stderr, /\/datasets\/0\/attributes\/1: .*did you mean 'sports'/);
    assert.match(r.stderr, /\/dropout\/0\/gamma\/1: must be ≤ 1 \(got 2\)/);
    assert.match(r.stderr, /\/training\/epoch: unknown key 'epoch'; did you mean 'epochs'/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
  });

  it('validate names a missing file', () => {
    const r = rdlab('spec', 'validate', 'no/such.yaml');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read spec 'no\/such.yaml': no such file/);
  });

  it('expand --json prints the count and every cell, gamma null where it does not apply', () => {
    const r = rdlab('spec', 'expand', 'examples/demo.yaml', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { count: number; cells: Array<Record<string, unknown>> };
    assert.equal(out.count, 6);
    assert.equal(out.cells.length, 6);
    assert.deepEqual(Object.keys(out.cells[0]!), [
      'id',
      'dataset',
      'attribute',
      'dropout',
      'dropoutLabel',
      'target',
      'seed',
    ]);
    assert.deepEqual(out.cells[0]!.dropout, { kind: 'none' });
    assert.deepEqual(out.cells[2]!.dropout, { kind: 'quantile', gamma: 0.8 });
    assert.equal(out.cells[2]!.dropoutLabel, 'quantile-0.8');
    assert.match(String(out.cells[0]!.id), /^c[0-9a-f]{16}$/);
  });

  it('expand prints a table by default', () => {
    const r = rdlab('spec', 'expand', 'examples/demo.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /dataset\s+attribute\s+target\s+dropout/);
    assert.match(r.stdout, /6 cells/);
  });

  it('--help works on every command', () => {
    for (const args of [
      ['--help'],
      ['spec', '--help'],
      ['spec', 'validate', '--help'],
      ['spec', 'expand', '--help'],
    ]) {
      const r = rdlab(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /Usage: rdlab/);
    }
  });
});
