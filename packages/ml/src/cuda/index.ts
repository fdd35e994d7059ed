/**
 * The CUDA engine: GPT-2 (OPT, XGLM) and BERT scoring on one GPU. Its CNN classifier and its
 * trainable BERT are tfjs's; backend.ts puts the native engine's in their place where that is
 * built: the CNN reward classifier is small and off the hot path, and fine-tuning BERT stays on the
 * CPU (README, "The CUDA engine"). A frozen BERT (R scoring samples) runs here.
 */
import type { Engine } from '../engine.js';
import { tfjsEngine } from '../tfjs-engine.js';
import { loadCudaAddon } from './addon.js';
import { CudaBertClassifier } from './cuda-bert.js';
import { CudaGpt2, cudaPrecision } from './cuda-gpt2.js';

/** Loads the addon and finds a GPU (throws with the reason when it cannot). */
export function loadCudaEngine(): Engine {
  const precision = cudaPrecision(); // a bad setting is the reason cuda does not start
  const addon = loadCudaAddon();
  return {
    languageModel: (config, parameters, options) =>
      new CudaGpt2(config, parameters, precision, options),
    classifier: tfjsEngine.classifier,
    sequenceClassifier: (config, parameters, options) =>
      options?.frozen
        ? new CudaBertClassifier(config, parameters, precision)
        : tfjsEngine.sequenceClassifier!(config, parameters, options),
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
export { CudaBertClassifier } from './cuda-bert.js';
export { CUDA_PRECISIONS, CudaGpt2, type CudaPrecision, cudaPrecision } from './cuda-gpt2.js';
