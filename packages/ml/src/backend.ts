/**
 * Which engine computes: `RDLAB_BACKEND` = `cuda` | `tensorflow-gpu` | `tensorflow` | `native` |
 * `wasm` | `cpu`, or unset for the fastest one that loads. The CUDA engine is built only where
 * nvcc and cuBLAS exist and runs only where a GPU is; the tfjs-node packages download
 * libtensorflow at install time, so they are optional and loaded dynamically; where one is
 * missing rdlab falls back to the next and says why, once.
 */
import * as tf from '@tensorflow/tfjs';
import type { Engine } from './engine.js';
import { loadTfjsEngine, startWasmBackend, tfjsEngine } from './tfjs-engine.js';

export const BACKENDS = ['cuda', 'tensorflow-gpu', 'tensorflow', 'native', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /**
   * The tfjs backend beneath it (`native` and `cuda` still use tfjs for the few ops they do not
   * own).
   */
  tfjsBackend: string;
  /** Backends tried before it, with the reason each was passed over. */
  skipped: Array<{ name: BackendName; reason: string }>;
}

let active: { info: BackendInfo; engine: Engine } | null = null;

/** Loads the engine of a backend and starts the tfjs backend beneath it; throws with the reason. */
async function loadEngine(name: BackendName): Promise<Engine> {
  switch (name) {
    case 'cuda': {
      const cuda = (await import('./cuda/index.js')).loadCudaEngine();
      // The CNN and a BERT being fine-tuned stay on the CPU: the native engine's where it is
      // built, else tfjs's. A frozen BERT (R scoring) runs on the GPU (cuda/cuda-bert.ts).
      const cpu = await import('./native/index.js')
        .then((native) => native.loadNativeEngine())
        .catch(() => null);
      if (!(await startWasmBackend()))
        throw new Error('the wasm backend beneath the cuda engine did not start');
      return cpu
        ? {
            ...cuda,
            classifier: cpu.classifier,
            sequenceClassifier: (config, parameters, options) =>
              (options?.frozen ? cuda : cpu).sequenceClassifier!(config, parameters, options),
          }
        : cuda;
    }
    case 'native': {
      const native = (await import('./native/index.js')).loadNativeEngine();
      if (!(await startWasmBackend()))
        throw new Error('the wasm backend beneath the native engine did not start');
      return native;
    }
    default:
      return loadTfjsEngine(name);
  }
}

/**
 * Starts the requested backend (default: `RDLAB_BACKEND`, else the fastest that loads).
 * A backend named explicitly must load; the default falls back in the order of {@link BACKENDS}.
 */
export async function initBackend(
  requested: string | undefined = process.env.RDLAB_BACKEND,
  log: (line: string) => void = (l) => console.error(l),
): Promise<BackendInfo> {
  if (
    requested !== undefined &&
    requested !== '' &&
    !(BACKENDS as readonly string[]).includes(requested)
  ) {
    throw new Error(
      `RDLAB_BACKEND='${requested}' is not a backend; choose one of ${BACKENDS.join(', ')}`,
    );
  }
  const want = requested ? (requested as BackendName) : null;
  if (active && (want === null || active.info.name === want)) return active.info;
  const order = want ? [want] : [...BACKENDS];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    let engine: Engine;
    try {
      engine = await loadEngine(name);
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      skipped.push({ name, reason: message.split('\n')[0] ?? message });
      continue;
    }
    await tf.ready();
    tf.enableProdMode(); // drops per-op NaN checks, which cost more than the ops on small models
    active = { info: { name, tfjsBackend: tf.getBackend(), skipped }, engine };
    if (skipped.length > 0)
      log(`rdlab: backend ${name} (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`);
    return active.info;
  }
  throw new Error(
    `no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** The backend started by {@link initBackend}, or null. */
export function activeBackend(): BackendInfo | null {
  return active?.info ?? null;
}

/**
 * The engine of the backend started by {@link initBackend}: what the model factories and
 * measurements ask. Before one starts, tfjs on its current backend.
 */
export function activeEngine(): Engine {
  return active?.engine ?? tfjsEngine;
}
