/**
 * The device check's preparation, without a GPU: pack.mjs writes a carry whose manifest lists
 * every file with its size, the bundled runner parses its arguments and runs its harness on the
 * CPU engine, and the shell and Python scripts at least parse.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sharedPath } from '../src/test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const skip = sharedPath('fixtures', 'tiny-gpt2') ? false : '../shared/fixtures is absent';

function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('device check preparation', { skip }, () => {
  const out = mkdtempSync(join(tmpdir(), 'rdlab-carry-'));
  const packed = skip
    ? null
    : run(process.execPath, [join(here, 'pack.mjs'), '--out', out, '--skip-node']);

  it('pack.mjs writes the bundle, headers and fixtures, each in the manifest with its size', () => {
    assert.equal(packed?.code, 0, packed?.stderr);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
      totalBytes: number;
      files: Array<{ path: string; bytes: number; sha256: string }>;
    };
    const paths = manifest.files.map((f) => f.path);
    for (const p of [
      'check.mjs',
      'node/include/node/node_api.h',
      'node_modules/node-addon-api/napi.h',
      'node_modules/node-addon-api/index.js',
      'fixtures/tiny-gpt2/model.safetensors',
      'fixtures/reward-dropout-step/expected.json',
      'fixtures/tiny-opt/model.safetensors',
      'fixtures/tiny-opt/step/expected.json',
      'fixtures/tiny-xglm/reference.json',
      'fixtures/tiny-xglm/step/batch.json',
      'fixtures/tiny-bert/model.safetensors',
      'fixtures/tiny-bert/reference.json',
    ])
      assert.ok(paths.includes(p), `${p} is not in the manifest`);
    for (const f of manifest.files) assert.equal(f.bytes, statSync(join(out, f.path)).size, f.path);
    assert.equal(
      manifest.totalBytes,
      manifest.files.reduce((a, f) => a + f.bytes, 0),
    );
    assert.ok(manifest.totalBytes < 48 * 2 ** 20);
    assert.match(packed?.stdout ?? '', /^pack: \d+ files, [\d.]+ MiB in /m);
  });

  it('the bundled runner parses its flags and names a wrong one', () => {
    const ok = run(process.execPath, [
      join(out, 'check.mjs'),
      '--dry-run',
      '--stages',
      'train,sample',
      '--out',
      '/x',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const args = JSON.parse(ok.stdout) as { stages: string[]; out: string };
    assert.deepEqual(args.stages, ['train', 'sample']);
    assert.equal(args.out, '/x');
    const bad = run(process.execPath, [join(out, 'check.mjs'), '--stages', 'bogus']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stages: 'bogus' is not a stage; choose from fixture, parity/);
  });

  // From the sources (the bundle finds the engines' addons relative to carry/, where it lives).
  it('the harness passes on the CPU engine (fixture, parity with sample(), reward-dropout step, BERT R)', {
    skip: existsSync(fileURLToPath(new URL('../native/build/rdlab_native.node', import.meta.url)))
      ? false
      : 'the native addon is not built',
  }, () => {
    const results = mkdtempSync(join(tmpdir(), 'rdlab-device-out-'));
    const r = run(process.execPath, [
      '--conditions=source',
      '--import',
      'tsx',
      join(here, 'check.ts'),
      '--engine',
      'native',
      '--quick',
      '--out',
      results,
      '--fixtures',
      join(out, 'fixtures'),
      '--stages',
      'fixture,parity,reward-dropout,reward-model',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const stage of ['fixture', 'parity', 'reward-dropout', 'reward-model'])
      assert.equal(JSON.parse(readFileSync(join(results, `${stage}.json`), 'utf8')).pass, true);
  });

  it('check.sh and the Python scripts parse', () => {
    assert.equal(run('bash', ['-n', join(here, 'check.sh')]).code, 0);
    if (run('python3', ['--version']).code !== 0) return;
    // Parsed, not byte-compiled: nothing is written beside the scripts.
    const r = run('python3', [
      '-c',
      'import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)',
      join(here, 'torch_gpt.py'),
      join(here, 'torch_reference.py'),
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
});
