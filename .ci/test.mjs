#!/usr/bin/env node
// Runs every *.test.ts under the given folders or files (default: packages and apps) in one node:test run,
// from TypeScript source (tsx, and the "source" export condition of our packages). One run, one
// summary: the spec reporter, then a closing `N passed, N failed, N skipped` line.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testEnv } from './loopback-env.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const flags = args.filter((a) => a.startsWith('--'));
const folders = args.filter((a) => !a.startsWith('--'));

function find(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.'))
      continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) find(path, out);
    else if (entry.name.endsWith('.test.ts') && !entry.name.endsWith('.gpu.test.ts'))
      out.push(path);
  }
  return out;
}

const files = (folders.length ? folders : ['packages', 'apps', 'docker', 'helm'])
  .flatMap((f) => (statSync(join(root, f)).isFile() ? [join(root, f)] : find(join(root, f), [])))
  .map((f) => relative(root, f))
  .sort();
if (files.length === 0) {
  console.error('no *.test.ts files found');
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  [
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./.ci/summary-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...flags,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: testEnv() },
);
process.exit(result.status ?? 1);
