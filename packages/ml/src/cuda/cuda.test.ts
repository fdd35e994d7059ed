/**
 * The CUDA engine where there is no GPU (CI, the CPU machines): the build skips with its reason,
 * the loader turns every kind of absence into that reason, and the default backend chain passes
 * cuda over with it. The GPU's own checks are in cuda.gpu.test.ts and packages/ml/device.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRng, type DecoderConfig, type Gpt2Config } from '@rdlab/core';
import { initBackend } from '../backend.js';
import { bertConfigFromJson, initBertParameters } from '../bert/config.js';
import { initGpt2Parameters } from '../gpt2/params.js';
import { cudaStatus, loadCudaAddon, notBuiltReason } from './addon.js';
import { CudaBertClassifier } from './cuda-bert.js';
import { CudaGpt2, cudaPrecision } from './cuda-gpt2.js';

const build = fileURLToPath(new URL('../../cuda/build.mjs', import.meta.url));
const ABSENT = /^(not built: .+|cannot load .+|no CUDA (driver|device).*)$/;
// Whether this machine has an NVIDIA GPU, asked of the system, not of the code under test.
const gpu = existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
const CONFIG: Gpt2Config = {
  vocab_size: 11,
  n_positions: 8,
  n_embd: 8,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
};

function runBuild(env: Record<string, string>, args: string[] = []) {
  const r = spawnSync(process.execPath, [build, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('cuda engine without a GPU', () => {
  it('the build skips without nvcc, says why, records it, and fails only with --strict', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cuda-build-'));
    const env = { RDLAB_CUDA_BUILD_DIR: dir, RDLAB_NVCC: join(dir, 'no-nvcc') };
    const r = runBuild(env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^cuda engine not built: nvcc not found \(/m);
    assert.match(readFileSync(join(dir, 'reason.txt'), 'utf8'), /^nvcc not found/);
    assert.ok(!existsSync(join(dir, 'rdlab_cuda.node')));
    assert.equal(runBuild(env, ['--strict']).code, 1);
  });

  it('the build names missing cuBLAS where nvcc exists', {
    skip:
      existsSync('/usr/local/cuda/bin/nvcc') ||
      spawnSync('sh', ['-c', 'command -v nvcc']).status === 0
        ? false
        : 'no nvcc on this machine',
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cuda-build-'));
    const r = runBuild({ RDLAB_CUDA_BUILD_DIR: dir, RDLAB_CUBLAS_HOME: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /cuda engine not built: cuBLAS not found \(cublas_v2\.h, libcublas\.so/);
  });

  it('the loader reports the recorded build reason, or that the build never ran', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cuda-load-'));
    assert.equal(
      notBuiltReason(dir),
      'not built: npm run build:cuda has not run (npm run build:cuda)',
    );
    writeFileSync(join(dir, 'reason.txt'), 'nvcc not found (install the CUDA toolkit)\n');
    assert.throws(
      () => loadCudaAddon(dir),
      new Error('not built: nvcc not found (install the CUDA toolkit) (npm run build:cuda)'),
    );
    assert.deepEqual(cudaStatus(dir), {
      available: false,
      reason: 'not built: nvcc not found (install the CUDA toolkit) (npm run build:cuda)',
    });
  });

  it('a broken addon file is a reason, not a crash', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdlab-cuda-load-'));
    writeFileSync(join(dir, 'rdlab_cuda.node'), 'not an ELF file');
    assert.throws(() => loadCudaAddon(dir), /^Error: cannot load .*rdlab_cuda\.node: /);
  });

  it('RDLAB_CUDA_PRECISION is checked', () => {
    assert.equal(cudaPrecision(undefined), 'fp32');
    assert.equal(cudaPrecision('bf16'), 'bf16');
    assert.throws(
      () => cudaPrecision('fp16'),
      /RDLAB_CUDA_PRECISION='fp16' is not a precision; choose one of fp32, tf32, bf16/,
    );
  });

  it('a model cannot be made: the error is the reason', {
    skip: gpu ? 'a GPU is here' : false,
  }, () => {
    const reason = cudaStatus().reason ?? '';
    assert.match(reason, ABSENT);
    assert.throws(() => new CudaGpt2(CONFIG, initGpt2Parameters(CONFIG, createRng(1))), {
      message: reason,
    });
  });

  it('BERT scoring and frozen decoders are not refused in TypeScript either: the error is the reason', {
    skip: gpu ? 'a GPU is here' : false,
  }, () => {
    const reason = cudaStatus().reason ?? '';
    const config = bertConfigFromJson({
      model_type: 'bert',
      vocab_size: 40,
      hidden_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 8,
    });
    const parameters = initBertParameters(config, createRng(1));
    assert.throws(() => new CudaBertClassifier(config, parameters, 'fp32'), { message: reason });
    const decoder = initGpt2Parameters(CONFIG, createRng(1));
    assert.throws(() => new CudaGpt2(CONFIG, decoder, 'bf16', { frozen: true }), {
      message: reason,
    });
  });

  it('OPT and XGLM are not refused in TypeScript: only the missing device stops them', {
    skip: gpu ? 'a GPU is here' : false,
  }, () => {
    const reason = cudaStatus().reason ?? '';
    for (const family of ['opt', 'xglm'] as const) {
      const config = {
        ...CONFIG,
        family,
        ffn_dim: 48,
        activation: family === 'opt' ? 'relu' : 'gelu',
      } as DecoderConfig;
      assert.throws(() => new CudaGpt2(config, initGpt2Parameters(config, createRng(1))), {
        message: reason,
      });
    }
  });

  it('initBackend("cuda") throws naming the reason; the default chain skips cuda with it', {
    skip: gpu ? 'a GPU is here' : false,
  }, async () => {
    const reason = cudaStatus().reason ?? '';
    await assert.rejects(
      initBackend('cuda', () => {}),
      {
        message: `no backend could start: cuda: ${reason}`,
      },
    );
    const lines: string[] = [];
    const info = await initBackend('', (line) => lines.push(line));
    assert.notEqual(info.name, 'cuda');
    assert.deepEqual(info.skipped[0], { name: 'cuda', reason });
    assert.match(lines[0] ?? '', new RegExp(`^rdlab: backend ${info.name} \\(cuda: `));
  });
});
