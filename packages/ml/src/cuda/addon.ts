/**
 * Loading the CUDA engine's addon (cuda/build/rdlab_cuda.node), once, with the reason when it
 * cannot be used: not built (the build's own reason, from build/reason.txt), not loadable (cuBLAS
 * missing from the loader's path), no CUDA driver, or no device. The addon links the CUDA runtime
 * statically, so on a machine without a driver it loads and says so rather than crashing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineSampling } from '../engine.js';
import type { FlatGpt2Handle } from '../flat-gpt2.js';
import type { ParameterHandle } from '../native/flat.js';

/** The addon's GPT-2 (cuda/src/addon.cc): gradients only for the trainable tensors. */
export interface CudaGpt2Handle extends FlatGpt2Handle {
  /** Σ g² of each tensor's gradient, in checkpoint order. */
  gradSquares(): Float64Array;
  sample(
    prefixes: Int32Array,
    B: number,
    p: number,
    options: Omit<EngineSampling, 'rngState'>,
    rngState: Uint32Array,
  ): {
    ids: Int32Array;
    mask: Float32Array;
    tokenLogprobs: Float32Array;
    samplingLogprobs: Float32Array;
  };
  numParams(): number;
  precision(): string;
}

/** The addon's BERT (cuda/src/addon.cc, bert.cu): logits only; getAdam / setAdam throw. */
export interface CudaBertHandle extends ParameterHandle {
  /** Class logits `[B, K]` of `[B, T]` ids right-padded, `lengths [B]` real tokens each. */
  logits(ids: Int32Array, lengths: Int32Array, B: number, T: number): Float32Array;
  numParams(): number;
  precision(): string;
}

export interface CudaDeviceInfo {
  ok: boolean;
  reason: string;
  name: string;
  count: number;
  totalMemory: number;
  freeMemory: number;
  capability: string;
  driverVersion: number;
  runtimeVersion: number;
}

export interface CudaAddon {
  /** `frozen`: sampling and scoring only (no gradient or Adam buffers on the GPU; training throws). */
  CudaGpt2: new (
    config: object,
    params: Float32Array,
    precision: string,
    frozen?: boolean,
  ) => CudaGpt2Handle;
  /** BERT for scoring (`config` with Hugging Face's field names, as `BertConfig`). */
  CudaBert: new (
    config: object,
    params: Float32Array,
    precision: string,
  ) => CudaBertHandle;
  deviceInfo(): CudaDeviceInfo;
  /** Square fp32 GEMM rate through cuBLAS (TF32 tensor cores when `tf32`), GFLOP/s. */
  sgemmGflops(n: number, seconds: number, tf32?: boolean): number;
}

/** Where `npm run build:cuda` puts the addon (`RDLAB_CUDA_BUILD_DIR`, as the build reads it). */
export const CUDA_BUILD_DIR =
  process.env.RDLAB_CUDA_BUILD_DIR || fileURLToPath(new URL('../../cuda/build/', import.meta.url));

const loaded = new Map<string, CudaAddon>();

/** Why the addon in `buildDir` is absent: the build's recorded reason, or that it never ran. */
export function notBuiltReason(buildDir: string = CUDA_BUILD_DIR): string {
  const file = join(buildDir, 'reason.txt');
  const recorded = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return `not built: ${recorded || 'npm run build:cuda has not run'} (npm run build:cuda)`;
}

/** The addon, checked to see a GPU; throws an Error whose message is the reason otherwise. */
export function loadCudaAddon(buildDir: string = CUDA_BUILD_DIR): CudaAddon {
  const path = join(buildDir, 'rdlab_cuda.node');
  const cached = loaded.get(path);
  if (cached) return cached;
  if (!existsSync(path)) throw new Error(notBuiltReason(buildDir));
  let addon: CudaAddon;
  try {
    addon = createRequire(import.meta.url)(path) as CudaAddon;
  } catch (error) {
    const message = ((error as Error).message ?? String(error)).split('\n')[0];
    throw new Error(`cannot load ${path}: ${message}`);
  }
  const info = addon.deviceInfo();
  if (!info.ok) throw new Error(info.reason);
  loaded.set(path, addon);
  return addon;
}

/** The CUDA engine's state for `rdlab doctor`: its device, or why it is unavailable. */
export interface CudaStatus {
  available: boolean;
  reason?: string;
  device?: string;
  capability?: string;
  memoryGiB?: number;
  driverVersion?: number;
}

export function cudaStatus(buildDir: string = CUDA_BUILD_DIR): CudaStatus {
  try {
    const info = loadCudaAddon(buildDir).deviceInfo();
    return {
      available: true,
      device: info.name,
      capability: info.capability,
      memoryGiB: Number((info.totalMemory / 2 ** 30).toFixed(1)),
      driverVersion: info.driverVersion,
    };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}
