#!/usr/bin/env node
// Builds rdlab's CUDA engine (CUDA C++17, cuBLAS, N-API) into build/rdlab_cuda.node. Run by
// `npm run build:cuda` and the set-up script. Where nvcc, cuBLAS, a host compiler or Node's headers
// are missing it prints `cuda engine not built: <reason>`, writes the reason to build/reason.txt
// (what `rdlab doctor` shows) and exits 0; `--strict` exits 1 instead. `--force` rebuilds.
//
// Settings (environment):
//   CUDA_HOME / RDLAB_NVCC   the toolkit / the nvcc to use (default: nvcc on PATH, /usr/local/cuda*)
//   RDLAB_CUBLAS_HOME        a folder with include/cublas_v2.h and lib/libcublas.so* (default: the toolkit's)
//   RDLAB_CUDA_ARCH          GPU architecture, e.g. sm_90 (default) or 80
//   RDLAB_NODE_INCLUDE       Node's headers (node_api.h); RDLAB_NODE_ADDON_API: node-addon-api's (napi.h)
//   RDLAB_CUDA_BUILD_DIR     where to build (default: build/ beside this file)
//
// Warnings are shown, not fatal: the GPU machines' compilers may differ from the ones it was
// checked with (it builds without warnings with nvcc 13.0 and g++ 12).
//
// The addon links the CUDA runtime statically and cuBLAS dynamically (rpath to the folder it was
// found in), so it loads on a machine without a driver and says so instead of crashing.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const buildDir = process.env.RDLAB_CUDA_BUILD_DIR || join(here, 'build');
const out = join(buildDir, 'rdlab_cuda.node');
const reasonFile = join(buildDir, 'reason.txt');
const strict = process.argv.includes('--strict');
const require = createRequire(import.meta.url);

function skip(reason) {
  console.error(`cuda engine not built: ${reason}`);
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(reasonFile, `${reason}\n`);
  process.exit(strict ? 1 : 0);
}

function runs(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0;
}

/** The newest /usr/local/cuda-X.Y first, then /usr/local/cuda. */
function toolkitCandidates() {
  const homes = [];
  if (process.env.CUDA_HOME) homes.push(process.env.CUDA_HOME);
  if (process.env.CUDA_PATH) homes.push(process.env.CUDA_PATH);
  if (existsSync('/usr/local')) {
    const versions = readdirSync('/usr/local')
      .filter((d) => /^cuda-\d+\.\d+$/.test(d))
      .sort((a, b) => {
        const [am, an] = a.slice(5).split('.').map(Number);
        const [bm, bn] = b.slice(5).split('.').map(Number);
        return bm - am || bn - an;
      });
    homes.push(...versions.map((d) => join('/usr/local', d)), '/usr/local/cuda');
  }
  return homes;
}

function findNvcc() {
  if (process.env.RDLAB_NVCC)
    return runs(process.env.RDLAB_NVCC)
      ? { nvcc: process.env.RDLAB_NVCC, home: dirname(dirname(process.env.RDLAB_NVCC)) }
      : null;
  for (const home of toolkitCandidates()) {
    const nvcc = join(home, 'bin', 'nvcc');
    if (existsSync(nvcc) && runs(nvcc)) return { nvcc, home };
  }
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath && runs(onPath)) return { nvcc: onPath, home: dirname(dirname(onPath)) };
  return null;
}

/** The first folder holding `file`, or a file matching `pattern` (e.g. libcublas.so.13). */
function findIn(dirs, pattern) {
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    const hit = readdirSync(dir)
      .filter((f) => pattern.test(f))
      .sort((a, b) => a.length - b.length)[0];
    if (hit) return join(dir, hit);
  }
  return null;
}

const toolkit = findNvcc();
if (!toolkit)
  skip(
    'nvcc not found (install the CUDA toolkit, put nvcc on PATH, or set CUDA_HOME or RDLAB_NVCC)',
  );
const cublasHome = process.env.RDLAB_CUBLAS_HOME || toolkit.home;
const includeDirs = [
  join(cublasHome, 'include'),
  join(cublasHome, 'targets', 'x86_64-linux', 'include'),
  join(cublasHome, 'targets', 'sbsa-linux', 'include'),
];
const libDirs = [
  join(cublasHome, 'lib64'),
  join(cublasHome, 'lib'),
  join(cublasHome, 'targets', 'x86_64-linux', 'lib'),
  join(cublasHome, 'targets', 'sbsa-linux', 'lib'),
];
const cublasHeader = findIn(includeDirs, /^cublas_v2\.h$/);
const cublasLib = findIn(libDirs, /^libcublas\.so(\.\d+)*$/);
const cublasLtLib = findIn(libDirs, /^libcublasLt\.so(\.\d+)*$/);
if (!cublasHeader || !cublasLib || !cublasLtLib)
  skip(
    `cuBLAS not found (cublas_v2.h, libcublas.so and libcublasLt.so under ${cublasHome}; set RDLAB_CUBLAS_HOME to a folder with include/ and lib/)`,
  );
const cudaInclude = [
  join(toolkit.home, 'include'),
  join(toolkit.home, 'targets', 'x86_64-linux', 'include'),
].find((d) => existsSync(join(d, 'cuda_runtime.h')));
const cudartStatic = findIn(
  [
    join(toolkit.home, 'lib64'),
    join(toolkit.home, 'lib'),
    join(toolkit.home, 'targets', 'x86_64-linux', 'lib'),
  ],
  /^libcudart_static\.a$/,
);
if (!cudaInclude || !cudartStatic)
  skip(`the CUDA runtime (cuda_runtime.h, libcudart_static.a) was not found under ${toolkit.home}`);
const cxx = process.env.CXX ?? 'g++';
if (!runs(cxx)) skip(`no host C++ compiler (${cxx}); apt-get install g++`);
const nodeInclude = [
  process.env.RDLAB_NODE_INCLUDE,
  join(dirname(process.execPath), '..', 'include', 'node'),
  '/usr/include/node',
  process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
].find((d) => d && existsSync(join(d, 'node_api.h')));
if (!nodeInclude) skip("Node's headers (node_api.h) were not found (set RDLAB_NODE_INCLUDE)");
let addonInclude = process.env.RDLAB_NODE_ADDON_API;
if (!addonInclude) {
  try {
    // include_dir is relative to the working directory.
    addonInclude = resolve(require('node-addon-api').include_dir.replace(/"/g, ''));
  } catch {
    skip('node-addon-api is not installed (npm ci), nor RDLAB_NODE_ADDON_API set');
  }
}
if (!existsSync(join(addonInclude, 'napi.h'))) skip(`napi.h is not in ${addonInclude}`);

const archSetting = process.env.RDLAB_CUDA_ARCH || 'sm_90';
const arch = /^(sm_|compute_)?(\d+a?)$/.exec(archSetting)?.[2];
if (!arch) skip(`RDLAB_CUDA_ARCH='${archSetting}' is not an architecture (e.g. sm_90 or 80)`);

const sources = readdirSync(src).map((f) => join(src, f));
const newest = Math.max(
  ...sources.map((f) => statSync(f).mtimeMs),
  statSync(fileURLToPath(import.meta.url)).mtimeMs,
);
if (existsSync(out) && statSync(out).mtimeMs > newest && !process.argv.includes('--force')) {
  console.log(`cuda engine up to date: ${out}`);
  process.exit(0);
}
mkdirSync(buildDir, { recursive: true });

function run(cmd, args) {
  console.log(`  ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) skip(`${cmd} failed (see above)`);
}

console.log(
  `building cuda engine for sm_${arch} with ${toolkit.nvcc}, cuBLAS from ${dirname(cublasLib)}`,
);
// The decoders (gpt2.cu) and the BERT scorer (bert.cu), one object each.
const engineObjects = [];
for (const name of ['gpt2', 'bert']) {
  const object = join(buildDir, `${name}.o`);
  engineObjects.push(object);
  run(toolkit.nvcc, [
    '-std=c++17',
    '-O3',
    `-gencode=arch=compute_${arch},code=[sm_${arch},compute_${arch}]`,
    '-Xcompiler=-fPIC,-Wall,-Wextra',
    `-I${dirname(cublasHeader)}`,
    '-c',
    join(src, `${name}.cu`),
    '-o',
    object,
  ]);
}
const addonObject = join(buildDir, 'addon.o');
run(cxx, [
  '-std=c++17',
  '-O2',
  '-fPIC',
  '-Wall',
  '-Wextra',
  '-DNAPI_VERSION=8',
  '-DNAPI_CPP_EXCEPTIONS',
  '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-I${nodeInclude}`,
  `-I${addonInclude}`,
  '-c',
  join(src, 'addon.cc'),
  '-o',
  addonObject,
]);
// The CUDA runtime is static (a machine without a driver still loads the addon); cuBLAS is found
// at run time in the folder it was linked from, or on the loader's path.
run(cxx, [
  '-shared',
  '-o',
  `${out}.tmp`,
  ...engineObjects,
  addonObject,
  cudartStatic,
  cublasLib,
  cublasLtLib,
  `-Wl,-rpath,${dirname(cublasLib)}`,
  '-ldl',
  '-lrt',
  '-lpthread',
]);
// Rename into place: a process that has the old engine loaded keeps its copy.
renameSync(`${out}.tmp`, out);
rmSync(reasonFile, { force: true });
console.log(`cuda engine built: ${out}`);
