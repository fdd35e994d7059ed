/**
 * The TensorFlow.js engine: `TfjsGpt2` and `TfjsCnnClassifier` on whichever tfjs backend runs
 * (`tensorflow-gpu`, `tensorflow`, `wasm`, `cpu`). The tfjs-node packages download libtensorflow
 * at install time, so they are optional and imported only when asked for.
 */
import * as tf from '@tensorflow/tfjs';
import { TfjsBertClassifier } from './bert/tfjs-bert.js';
import { TfjsCnnClassifier } from './classifier/tfjs-cnn.js';
import type { Engine } from './engine.js';
import { TfjsGpt2 } from './gpt2/tfjs-gpt2.js';

export type TfjsBackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

/** Square single-precision matmul rate of the active tfjs backend, GFLOP/s. */
function measureTfjsMatmulGflops(n = 512, seconds = 1): number {
  return tf.tidy(() => {
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    tf.matMul(a, b).dataSync();
    const start = performance.now();
    let runs = 0;
    while (performance.now() - start < seconds * 1000) {
      tf.tidy(() => tf.matMul(a, b).dataSync());
      runs += 1;
    }
    return (2 * n ** 3 * runs) / ((performance.now() - start) / 1000) / 1e9;
  });
}

/** The tfjs engine; it computes on the current tfjs backend, whichever that is. */
export const tfjsEngine: Engine = {
  languageModel: (config, parameters, options) => new TfjsGpt2(config, parameters, options),
  classifier: (config, vocabSize, numClasses, parameters) =>
    new TfjsCnnClassifier(config, vocabSize, numClasses, parameters),
  sequenceClassifier: (config, parameters, options) =>
    new TfjsBertClassifier(config, parameters, options),
  matmulGflops: measureTfjsMatmulGflops,
};

/**
 * Imports the wasm backend. Its Emscripten runtime adds process-wide `uncaughtException` and
 * `unhandledRejection` handlers that rethrow, printing the whole minified module with any error;
 * they are removed so errors read as Node prints them.
 */
async function importWasmBackend(): Promise<void> {
  const before = new Set([
    ...process.listeners('uncaughtException'),
    ...process.listeners('unhandledRejection'),
  ]);
  await import('@tensorflow/tfjs-backend-wasm');
  for (const listener of process.listeners('uncaughtException'))
    if (!before.has(listener)) process.removeListener('uncaughtException', listener);
  for (const listener of process.listeners('unhandledRejection'))
    if (!before.has(listener)) process.removeListener('unhandledRejection', listener);
}

/** Starts tfjs's wasm backend (also the one beneath the native and CUDA engines). */
export async function startWasmBackend(): Promise<boolean> {
  await importWasmBackend();
  return tf.setBackend('wasm');
}

async function importTfjsNode(name: 'tensorflow-gpu' | 'tensorflow'): Promise<void> {
  try {
    if (name === 'tensorflow-gpu')
      await import(/* optional */ '@tensorflow/tfjs-node-gpu' as string);
    else await import(/* optional */ '@tensorflow/tfjs-node' as string);
  } catch (error) {
    if (/Cannot find (module|package)/.test((error as Error).message ?? String(error)))
      throw new Error(
        `${name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'} is not installed (it downloads libtensorflow at install time)`,
      );
    throw error;
  }
}

/** Starts a tfjs backend and returns the tfjs engine; throws with the reason it cannot. */
export async function loadTfjsEngine(name: TfjsBackendName): Promise<Engine> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      await importTfjsNode(name);
      if (!(await tf.setBackend('tensorflow')))
        throw new Error(
          `${name === 'tensorflow-gpu' ? 'tfjs-node-gpu' : 'tfjs-node'} loaded but its backend did not start`,
        );
      return tfjsEngine;
    case 'wasm':
      if (!(await startWasmBackend())) throw new Error('the wasm backend did not start');
      return tfjsEngine;
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not start');
      return tfjsEngine;
  }
}
