/**
 * `rdlab model classify` against `../shared/fixtures/tiny-bert`: an independent float64 PyTorch
 * BertForSequenceClassification, three sequences batched with right padding, on both engines;
 * and the bad inputs, which exit 2 naming the flag.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'apps/cli/bin/rdlab.js');
const model = join(root, '..', 'shared', 'fixtures', 'tiny-bert');
const skip = existsSync(model) ? false : '../shared/fixtures/tiny-bert is absent';

function rdlab(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('rdlab model classify', { skip }, () => {
  const reference = skip
    ? { cases: [] }
    : (JSON.parse(readFileSync(join(model, 'reference.json'), 'utf8')) as {
        cases: Array<{ ids: number[]; logits: number[] }>;
      });
  for (const backend of ['native', 'wasm']) {
    it(`tiny-bert on ${backend}: three rows batched with padding match reference.json to 1e-4`, () => {
      const r = rdlab([
        'model',
        'classify',
        '--model',
        model,
        ...reference.cases.flatMap((c) => ['--ids', c.ids.join(',')]),
        '--backend',
        backend,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { logits: number[][] };
      assert.equal(out.logits.length, reference.cases.length);
      reference.cases.forEach((c, b) => {
        c.logits.forEach((x, k) => {
          const got = out.logits[b]?.[k] as number;
          assert.ok(Math.abs(got - x) < 1e-4, `row ${b} logit ${k}: ${got} vs ${x}`);
        });
      });
    });
  }

  it('bad input exits 2 naming the flag', () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /--ids: give at least one row/],
      [['--ids', '2,x,3'], /--ids must be comma-separated integer token ids/],
      [['--ids', '2,-1'], /--ids must be comma-separated integer token ids/],
      [['--ids', '2,96,3'], /--ids \(row 1\): token 96 is outside the vocabulary of 96/],
      [
        ['--ids', '2,3', '--ids', Array.from({ length: 17 }, () => 5).join(',')],
        /--ids \(row 2\): 17 tokens exceed max_position_embeddings 16/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = rdlab(['model', 'classify', '--model', model, '--backend', 'native', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const missing = rdlab(['model', 'classify', '--model', '/no/such/bert', '--ids', '2,3']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--model: .*\/no\/such\/bert/);
  });
});
