/**
 * Loading the native engine's addon (native/build/rdlab_native.node), once.
 *
 * OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back to its SSE3
 * "Prescott" kernels, at a fifth of the machine's matmul rate. Before the library loads, rdlab
 * names the kernel family the CPU supports (AVX-512 → SkylakeX, AVX2 + FMA → Haswell), unless
 * OPENBLAS_CORETYPE is already set; RDLAB_BLAS_CORETYPE=none keeps OpenBLAS's own choice.
 *
 * The engine runs two thread pools in turn, OpenBLAS's and OpenMP's, and JavaScript runs between
 * calls. Both pools spin while idle by default, so on a machine with few cores each steals the
 * cores the other (and the sampler) is about to use: measured here, training went from ≈ 4,700 to
 * ≈ 7,000 tokens/s and decoding ran up to 5× faster once idle threads sleep. rdlab sets
 * OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 unless they are set already.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { EngineSampling } from '../engine.js';
import type { FlatGpt2Handle } from '../flat-gpt2.js';

/**
 * The addon's GPT-2 (native/src/addon.cc). `backward` computes every gradient (the trainable
 * mask applies at the Adam step) and `decoderNext` knows B from its decoder: both ignore the
 * arguments the shared handle passes for the CUDA engine.
 */
export interface NativeGpt2Handle extends FlatGpt2Handle {
  sample(
    prefixes: Int32Array,
    B: number,
    options: Omit<EngineSampling, 'rngState'>,
    rngState: Uint32Array,
  ): [Int32Array, Float32Array, Float32Array, Float32Array];
  numParams(): number;
}

export interface NativeCnnHandle {
  forward(
    ids: Int32Array,
    lengths: Int32Array,
    B: number,
    T: number,
    dropout: Float32Array | null,
  ): Float32Array;
  backward(labels: Int32Array): number;
  adamStep(
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    clip: number,
    step: number,
  ): number;
  getParams(): Float32Array;
  setParams(p: Float32Array): void;
  getGrads(): Float32Array;
  getAdam(): [Float32Array, Float32Array];
  setAdam(m: Float32Array, v: Float32Array): void;
  numParams(): number;
  dispose(): void;
}

export interface NativeAddon {
  /** `frozen`: sampling and scoring only (no gradient or Adam buffers; training throws). */
  NativeGpt2: new (
    config: object,
    params: Float32Array,
    frozen?: boolean,
  ) => NativeGpt2Handle;
  NativeCnn: new (config: object, params: Float32Array) => NativeCnnHandle;
  /** BERT (native/src/bert.cc); `trainable` false keeps no gradient or Adam buffers. */
  NativeBert: new (
    config: object,
    params: Float32Array,
    trainable: boolean,
  ) => NativeCnnHandle;
  sgemmGflops(n: number, seconds: number): number;
  info(): { blas: string; blasThreads: number; ompThreads: number };
  /** Seconds per phase since the last call, when RDLAB_NATIVE_PROFILE was set; resets them. */
  profile(): Record<string, number>;
}

export const ADDON_PATH = fileURLToPath(
  new URL('../../native/build/rdlab_native.node', import.meta.url),
);

let addon: NativeAddon | null = null;

/** The OpenBLAS kernel family for this CPU, from /proc/cpuinfo (null: leave OpenBLAS to choose). */
export function blasCoreType(cpuinfo: string): string | null {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? '').trim().split(/\s+/));
  if (['avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd'].every((f) => flags.has(f)))
    return 'SkylakeX';
  if (flags.has('avx2') && flags.has('fma')) return 'Haswell';
  return null;
}

export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH))
    throw new Error(
      `the native addon is not built (npm run build:native; needs g++ and libopenblas-dev): ${ADDON_PATH} is missing`,
    );
  const wanted = process.env.RDLAB_BLAS_CORETYPE;
  if (process.env.OPENBLAS_CORETYPE === undefined && wanted !== 'none') {
    const core =
      wanted ??
      (existsSync('/proc/cpuinfo') ? blasCoreType(readFileSync('/proc/cpuinfo', 'utf8')) : null);
    if (core) process.env.OPENBLAS_CORETYPE = core;
  }
  process.env.OMP_WAIT_POLICY ??= 'passive';
  process.env.OPENBLAS_THREAD_TIMEOUT ??= '4';
  addon = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
  return addon;
}
