/**
 * The native engine: GPT-2 (and OPT, XGLM), the CNN classifier and the BERT classifier in C++
 * (OpenBLAS, OpenMP) on the CPU.
 */
import { NativeBertClassifier } from '../bert/native-bert.js';
import type { Engine } from '../engine.js';
import { loadAddon } from './addon.js';
import { NativeCnnClassifier } from './native-cnn.js';
import { NativeGpt2 } from './native-gpt2.js';

/** Loads the addon (throws with the reason when it cannot) and returns the native engine. */
export function loadNativeEngine(): Engine {
  const addon = loadAddon();
  return {
    languageModel: (config, parameters, options) => new NativeGpt2(config, parameters, options),
    classifier: (config, vocabSize, numClasses, parameters) =>
      new NativeCnnClassifier(config, vocabSize, numClasses, parameters),
    sequenceClassifier: (config, parameters, options) =>
      new NativeBertClassifier(config, parameters, options),
    matmulGflops: (n, seconds) => addon.sgemmGflops(n, seconds),
    // The addon times its phases only when RDLAB_NATIVE_PROFILE is set as it loads.
    ...(process.env.RDLAB_NATIVE_PROFILE ? { phaseProfile: () => addon.profile() } : {}),
  };
}

export { blasCoreType, loadAddon } from './addon.js';
export { NativeCnnClassifier } from './native-cnn.js';
export { NativeGpt2 } from './native-gpt2.js';
