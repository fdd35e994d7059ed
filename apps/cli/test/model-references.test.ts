/** `rdlab spec validate`, `plan` and `run` refuse broken checkpoint references: exit 2 naming the field. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  BAD_REFERENCES,
  writeBertReferenceFixture,
  writeReferenceFixture,
} from '@rdlab/ml/reference-fixtures';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');
const dir = await mkdtemp(join(tmpdir(), 'rdlab-cli-refs-'));
after(() => rm(dir, { recursive: true, force: true }));

function rdlab(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A spec file beside the checkpoints, naming them by relative path (resolved against it). */
async function specFile(name: string, behavior: string, target?: string): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    [
      'datasets: [{ name: d, source: "builtin:demo", attributes: [positive] }]',
      `behavior: { model: { checkpoint: ${behavior} } }`,
      target ? `targets: [{ model: { checkpoint: ${target} }, init: pretrained }]` : '',
      'dropout: [{ kind: none }]',
      'bootstrap: { prefixesPerAttribute: 8, samplesPerPrefix: 1, shardSize: 8 }',
      'training: { batchSize: 4, epochs: 1, maxLength: 16 }',
      'evaluation: { prefixes: 4 }',
      '',
    ].join('\n'),
  );
  return file;
}

describe('rdlab with checkpoint references', { timeout: 120_000 }, () => {
  it('spec validate exits 2 naming the field for each broken reference', async () => {
    await writeReferenceFixture(join(dir, 'good'), 'good');
    for (const kind of BAD_REFERENCES) {
      await writeReferenceFixture(join(dir, kind), kind);
      const r = rdlab('spec', 'validate', await specFile(`${kind}-target`, 'good', kind));
      assert.equal(r.code, 2, `${kind}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /\/targets\/0\/model\/checkpoint: /, kind);
    }
    const ok = rdlab('spec', 'validate', await specFile('good', 'good', 'good'));
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('plan and run --local exit 2 on a tensor of the wrong shape, naming tensor and shapes', async () => {
    await writeReferenceFixture(join(dir, 'wrong-shape'), 'wrong-shape');
    const file = await specFile('wrong-behavior', 'wrong-shape');
    for (const args of [
      ['plan', file],
      ['run', file, '--local', '--out', join(dir, 'out')],
    ]) {
      const r = rdlab(...args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /\/behavior\/model\/checkpoint: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[8, 8\]; config\.json implies \[16, 8\]/,
      );
    }
  });

  it('spec validate exits 2 naming the tensor of a BERT reward model that disagrees with its config', async () => {
    await writeBertReferenceFixture(join(dir, 'bert-wrong-shape'), 'bert-wrong-shape');
    const file = join(dir, 'bert-r.yaml');
    await writeFile(
      file,
      [
        'datasets: [{ name: d, source: "builtin:demo", attributes: [positive] }]',
        'rewardModel: { model: { checkpoint: bert-wrong-shape } }',
        'dropout: [{ kind: none }]',
        '',
      ].join('\n'),
    );
    const r = rdlab('spec', 'validate', file);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /\/rewardModel\/model\/checkpoint: tensor 'bert\.encoder\.layer\.0\.intermediate\.dense\.weight' has shape \[8, 8\]/,
    );
  });

  it('plan prices an unreachable s3 reference by its name and says it was not checked', () => {
    const r = rdlab('plan', 'examples/table1.yaml', '--backend', 'native');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /preset opt-6\.7b, from the checkpoint's name/);
    assert.match(
      r.stderr,
      /\/behavior\/model\/checkpoint not checked: s3:\/\/rdlab-models\/opt-6\.7b is unreachable/,
    );
  });
});
