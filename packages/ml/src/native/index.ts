/** The native engine, registered with the backend chooser and the model factories. */
import { matmulBenchmarks, phaseProfilers } from '../bench.js';
import { classifierEngines } from '../classifiers.js';
import { languageModelEngines } from '../models.js';
import { loadAddon } from './addon.js';
import { NativeCnnClassifier } from './native-cnn.js';
import { NativeGpt2 } from './native-gpt2.js';

/** Loads the addon (throws with the reason when it cannot) and registers the native engine. */
export async function loadNativeEngine(): Promise<void> {
  const addon = loadAddon();
  languageModelEngines.native = (config, parameters) => new NativeGpt2(config, parameters);
  classifierEngines.native = (config, vocabSize, numClasses, parameters) =>
    new NativeCnnClassifier(config, vocabSize, numClasses, parameters);
  matmulBenchmarks.native = (n, seconds) => addon.sgemmGflops(n, seconds);
  if (process.env.RDLAB_NATIVE_PROFILE) phaseProfilers.native = () => addon.profile();
}

export { blasCoreType, loadAddon } from './addon.js';
export { NativeCnnClassifier } from './native-cnn.js';
export { NativeGpt2 } from './native-gpt2.js';
