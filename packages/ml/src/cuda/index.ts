/**
 * The CUDA engine, registered with the backend chooser and the model factories. The language
 * models run on the GPU; the CNN reward classifier stays on the CPU (the native engine where it is
 * built, else tfjs): it is small and off the hot path (README, "The CUDA engine").
 */
import { matmulBenchmarks } from '../bench.js';
import { classifierEngines } from '../classifiers.js';
import { languageModelEngines } from '../models.js';
import { loadNativeEngine } from '../native/index.js';
import { loadCudaAddon } from './addon.js';
import { CudaGpt2, cudaPrecision } from './cuda-gpt2.js';

/** Loads the addon and finds a GPU (throws with the reason when it cannot), then registers. */
export async function loadCudaEngine(): Promise<void> {
  const precision = cudaPrecision(); // a bad setting is the reason cuda does not start
  const addon = loadCudaAddon();
  languageModelEngines.cuda = (config, parameters) => new CudaGpt2(config, parameters, precision);
  matmulBenchmarks.cuda = (n, seconds) => addon.sgemmGflops(n, seconds, precision === 'tf32');
  try {
    await loadNativeEngine();
    classifierEngines.cuda = classifierEngines.native;
  } catch {
    // No native engine: createClassifier falls back to tfjs.
  }
}

export {
  CUDA_BUILD_DIR,
  type CudaStatus,
  cudaStatus,
  loadCudaAddon,
  notBuiltReason,
} from './addon.js';
export { CUDA_PRECISIONS, CudaGpt2, type CudaPrecision, cudaPrecision } from './cuda-gpt2.js';
