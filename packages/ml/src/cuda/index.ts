/**
 * The CUDA engine: GPT-2 on one GPU. Its classifier is tfjs's; backend.ts puts the native
 * engine's in its place where that is built, since the CNN reward classifier stays on the CPU: it
 * is small and off the hot path (README, "The CUDA engine").
 */
import type { Engine } from '../engine.js';
import { tfjsEngine } from '../tfjs-engine.js';
import { loadCudaAddon } from './addon.js';
import { CudaGpt2, cudaPrecision } from './cuda-gpt2.js';

/** Loads the addon and finds a GPU (throws with the reason when it cannot). */
export function loadCudaEngine(): Engine {
  const precision = cudaPrecision(); // a bad setting is the reason cuda does not start
  const addon = loadCudaAddon();
  return {
    languageModel: (config, parameters, options) =>
      new CudaGpt2(config, parameters, precision, options),
    classifier: tfjsEngine.classifier,
    matmulGflops: (n, seconds) => addon.sgemmGflops(n, seconds, precision === 'tf32'),
  };
}

export {
  CUDA_BUILD_DIR,
  type CudaStatus,
  cudaStatus,
  loadCudaAddon,
  notBuiltReason,
} from './addon.js';
export { CUDA_PRECISIONS, CudaGpt2, type CudaPrecision, cudaPrecision } from './cuda-gpt2.js';
