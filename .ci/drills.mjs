#!/usr/bin/env node
// `npm run drills`: every reliability and security drill at full size (RDLAB_DRILLS=full), one
// file at a time (load drills measure latency and memory), through .ci/test.mjs, then a table of
// drill, figure and verdict and a closing `N drills passed, N failed` line. Exits non-zero when a
// drill or any test of a drill file failed.
//
// Drills are `test/drills/*.test.ts` under apps/* and packages/*, plus apps/scheduler's
// faults.test.ts; paths given as arguments run instead (`npm run drills -- apps/api/test/drills`).
// Arguments starting with -- go to the test runner (e.g. --test-name-pattern=…).
// `npm test` runs the same files in their bounded default mode.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnv } from './loopback-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const EXTRA_FILES = ['apps/scheduler/test/faults.test.ts'];

function drillFiles() {
  const files = [];
  for (const group of ['apps', 'packages']) {
    for (const entry of readdirSync(join(root, group), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(group, entry.name, 'test', 'drills');
      if (!existsSync(join(root, dir))) continue;
      for (const name of readdirSync(join(root, dir)))
        if (name.endsWith('.test.ts') && !name.endsWith('.gpu.test.ts'))
          files.push(join(dir, name));
    }
  }
  return [...files, ...EXTRA_FILES.filter((f) => existsSync(join(root, f)))].sort();
}

const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const paths = args.filter((a) => !a.startsWith('--'));
const files = paths.length > 0 ? paths : drillFiles();
if (files.length === 0) {
  console.error('no drill files found (test/drills/*.test.ts under apps/* and packages/*)');
  process.exit(1);
}
console.error(`drills: ${files.length} files, RDLAB_DRILLS=full\n  ${files.join('\n  ')}\n`);

const out = mkdtempSync(join(tmpdir(), 'rdlab-drills-'));
const rowsFile = join(out, 'rows.jsonl');
const run = spawnSync(
  process.execPath,
  [
    join(root, '.ci/test.mjs'),
    '--test-concurrency=1',
    '--test-reporter=./.ci/drill-reporter.mjs',
    `--test-reporter-destination=${rowsFile}`,
    ...flags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: testEnv({ RDLAB_DRILLS: 'full' }) },
);
const rows = existsSync(rowsFile)
  ? readFileSync(rowsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
  : [];
rmSync(out, { recursive: true, force: true });

const passed = rows.filter((r) => r.verdict === 'pass').length;
const failed = rows.filter((r) => r.verdict === 'fail').length;
const skipped = rows.length - passed - failed;
const table = [['drill', 'figure', 'verdict'], ...rows.map((r) => [r.name, r.figure, r.verdict])];
const widths = [0, 1, 2].map((c) => Math.max(...table.map((cells) => cells[c].length)));
const line = (cells) => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
console.log(`\n${line(table[0])}`);
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const cells of table.slice(1)) console.log(line(cells));
console.log(
  `\n${passed} drills passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${run.status === 0 || failed > 0 ? '' : ` (the test run exited ${run.status ?? run.signal})`}`,
);
process.exit(failed > 0 || run.status !== 0 ? 1 : 0);
