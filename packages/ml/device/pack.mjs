#!/usr/bin/env node
// Packs what the GPU device check needs beyond the working tree into packages/ml/device/carry/
// (gitignored), for the device tool's `carry`: the GPU machine has no Node.js, no node_modules and
// no network. Run here, then run check.sh there (packages/ml/README.md, "The device check").
//
//   node packages/ml/device/pack.mjs [--out DIR] [--skip-node]
//
// carry/
//   node/bin/node.xz            this machine's node binary, xz -9 (≈ 24 MB); node/include/node: N-API headers
//   node_modules/node-addon-api the headers both engines' builds include (copied to node_modules there)
//   check.mjs                   check.ts and what it imports, one esbuild bundle (no tfjs)
//   fixtures/                   ../shared/fixtures/{tiny-gpt2,reward-dropout-step,tiny-opt,tiny-xglm,tiny-bert}
//   manifest.json               every file with its size and sha256, and the total
// The CUDA and C++ sources, build.mjs files, check.sh and the Python scripts travel with the
// working tree itself.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const out = flag('--out') ?? join(here, 'carry');
const skipNode = args.includes('--skip-node');
/** The device tool carries at most 64 MiB in all; leave room for the working tree. */
export const LIMIT_BYTES = 48 * 2 ** 20;

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

function copyDir(from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copyDir(join(from, entry.name), join(to, entry.name));
    else copyFileSync(join(from, entry.name), join(to, entry.name));
  }
}

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

// Node: compressed once per node binary (xz -9 takes a minute on two cores).
const nodeOut = join(out, 'node', 'bin', 'node.xz');
const nodeStamp = join(out, 'node', 'version.txt');
const stamp = `${process.version} ${process.execPath} ${statSync(process.execPath).size}`;
if (!skipNode) {
  if (spawnSync('xz', ['--version']).status !== 0)
    fail('xz is not installed (apt-get install xz-utils)');
  const fresh =
    existsSync(nodeOut) && existsSync(nodeStamp) && readFileSync(nodeStamp, 'utf8') === stamp;
  if (!fresh) {
    mkdirSync(dirname(nodeOut), { recursive: true });
    console.log(`pack: xz -9 ${process.execPath} (${process.version})…`);
    const r = spawnSync('sh', ['-c', `xz -9 -T0 -c "${process.execPath}" > "${nodeOut}.tmp"`], {
      stdio: 'inherit',
    });
    if (r.status !== 0) fail('xz failed');
    copyFileSync(`${nodeOut}.tmp`, nodeOut);
    rmSync(`${nodeOut}.tmp`);
    writeFileSync(nodeStamp, stamp);
  }
}

// N-API headers: node_api.h and the four it includes.
const nodeInclude = [
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
].find((d) => existsSync(join(d, 'node_api.h')));
if (!nodeInclude) fail("Node's headers (node_api.h) were not found");
const headersOut = join(out, 'node', 'include', 'node');
mkdirSync(headersOut, { recursive: true });
for (const h of [
  'node_api.h',
  'node_api_types.h',
  'js_native_api.h',
  'js_native_api_types.h',
  'node_version.h',
])
  if (existsSync(join(nodeInclude, h))) copyFileSync(join(nodeInclude, h), join(headersOut, h));

// node-addon-api: its headers and the two files `require('node-addon-api')` reads.
const require = createRequire(import.meta.url);
const addonApi = dirname(require.resolve('node-addon-api/package.json'));
const addonOut = join(out, 'node_modules', 'node-addon-api');
mkdirSync(addonOut, { recursive: true });
for (const f of ['package.json', 'index.js', 'napi.h', 'napi-inl.h', 'napi-inl.deprecated.h'])
  copyFileSync(join(addonApi, f), join(addonOut, f));

// The runner, bundled with @rdlab/core and the ml sources it imports.
const { build } = await import(require.resolve('esbuild', { paths: [join(repo, 'apps', 'web')] }));
await build({
  entryPoints: [join(here, 'check.ts')],
  outfile: join(out, 'check.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  conditions: ['source'],
  logLevel: 'warning',
  // yaml and zod (through @rdlab/core) are CommonJS: their require() needs a real one in ESM.
  banner: {
    js: [
      '// Bundled by packages/ml/device/pack.mjs from check.ts: do not edit.',
      "import { createRequire as __rdlabCreateRequire } from 'node:module';",
      'const require = __rdlabCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});

// Fixtures, never committed: they come from ../shared beside the repository.
const shared = process.env.RDLAB_SHARED ?? join(repo, '..', 'shared');
for (const name of ['tiny-gpt2', 'reward-dropout-step', 'tiny-opt', 'tiny-xglm', 'tiny-bert']) {
  const from = join(shared, 'fixtures', name);
  if (!existsSync(from)) fail(`${from} is missing (set RDLAB_SHARED)`);
  copyDir(from, join(out, 'fixtures', name));
}

const manifestPath = join(out, 'manifest.json');
rmSync(manifestPath, { force: true });
const entries = files(out)
  .filter((f) => !f.endsWith('version.txt'))
  .sort()
  .map((f) => {
    const bytes = readFileSync(f);
    return {
      path: relative(out, f),
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
  });
const total = entries.reduce((a, e) => a + e.bytes, 0);
writeFileSync(
  manifestPath,
  JSON.stringify({ node: process.version, totalBytes: total, files: entries }, null, 1),
);
console.log(
  `pack: ${entries.length} files, ${(total / 2 ** 20).toFixed(1)} MiB in ${relative(repo, out) || out}`,
);
if (total > LIMIT_BYTES)
  fail(
    `${(total / 2 ** 20).toFixed(1)} MiB is over the ${LIMIT_BYTES / 2 ** 20} MiB allowed for the carry`,
  );
