#!/usr/bin/env node
// Builds rdlab's native CPU engine (C++17, N-API, OpenBLAS, OpenMP) into build/rdlab_native.node.
// Run by `npm run build:native` and the set-up script. Where no compiler, BLAS or Node headers
// exist it prints why and exits 0 without building: rdlab then falls back to the next backend.
// RDLAB_NATIVE_CXXFLAGS adds flags (default tuning: -march=native, for the machine that builds it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'rdlab_native.node');
const sources = readdirSync(join(here, 'src'))
  .filter((f) => f.endsWith('.cc'))
  .map((f) => join(here, 'src', f));
const require = createRequire(import.meta.url);
const strict = process.argv.includes('--strict');

function skip(reason) {
  console.error(`native engine not built: ${reason}`);
  process.exit(strict ? 1 : 0);
}

const cxx = process.env.CXX ?? 'g++';
if (spawnSync(cxx, ['--version']).status !== 0)
  skip(`no C++ compiler (${cxx}); apt-get install g++`);
const nodeInclude = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
].find((d) => d && existsSync(join(d, 'node_api.h')));
if (!nodeInclude) skip("Node's headers (node_api.h) were not found");
const cblas = [
  '/usr/include/x86_64-linux-gnu/cblas.h',
  '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/cblas.h',
  '/usr/include/openblas/cblas.h',
].find(existsSync);
if (!cblas) skip('no cblas.h; apt-get install libopenblas-dev');
let addonInclude;
try {
  addonInclude = require('node-addon-api').include_dir;
} catch {
  skip('node-addon-api is not installed (npm ci)');
}

const newest = Math.max(
  ...sources.map((f) => statSync(f).mtimeMs),
  ...readdirSync(join(here, 'src')).map((f) => statSync(join(here, 'src', f)).mtimeMs),
);
if (existsSync(out) && statSync(out).mtimeMs > newest && !process.argv.includes('--force')) {
  console.log(`native engine up to date: ${out}`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const flags = (process.env.RDLAB_NATIVE_CXXFLAGS ?? '-march=native').split(/\s+/).filter(Boolean);
const args = [
  '-std=c++17',
  '-O3',
  '-fPIC',
  '-shared',
  '-fopenmp',
  '-ffp-contract=fast',
  // Neither changes a result: they let float→int conversions and sqrt vectorise.
  '-fno-trapping-math',
  '-fno-math-errno',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  ...flags,
  `-I${nodeInclude}`,
  `-I${addonInclude.replace(/"/g, '')}`,
  `-I${dirname(cblas)}`,
  ...sources,
  '-o',
  `${out}.tmp`,
  '-lopenblas',
  '-lpthread',
];
console.log(`building native engine: ${cxx} … -o ${out}`);
const r = spawnSync(cxx, args, { stdio: 'inherit' });
if (r.status !== 0) {
  if (strict) process.exit(1);
  skip('the compiler failed (see above)');
}
// Rename into place: a process that has the old engine loaded keeps its copy.
renameSync(`${out}.tmp`, out);
console.log('native engine built');
