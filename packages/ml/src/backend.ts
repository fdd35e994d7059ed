/**
 * Which engine computes: `RDLAB_BACKEND` = `cuda` | `tensorflow-gpu` | `tensorflow` | `native` |
 * `wasm` | `cpu`, or unset for the fastest one that loads. The CUDA engine is built only where
 * nvcc and cuBLAS exist and runs only where a GPU is; the tfjs-node packages download
 * libtensorflow at install time, so they are optional and loaded dynamically; where one is
 * missing rdlab falls back to the next and says why, once.
 */
import * as tf from '@tensorflow/tfjs';

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

/** Loaders for the native engine; the native package registers itself here. */
export const nativeEngine: { load: (() => Promise<void>) | null; reasonUnavailable: string } = {
  load: null,
  reasonUnavailable:
    'the native addon is not built (npm run build:native; needs g++ and libopenblas-dev)',
};

let active: BackendInfo | null = null;

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

async function tryLoad(name: BackendName): Promise<string | null> {
  try {
    switch (name) {
      case 'cuda':
        await (await import('./cuda/index.js')).loadCudaEngine();
        await importWasmBackend();
        return (await tf.setBackend('wasm'))
          ? null
          : 'the wasm backend beneath the cuda engine did not start';
      case 'tensorflow-gpu':
        await import(/* optional */ '@tensorflow/tfjs-node-gpu' as string);
        return (await tf.setBackend('tensorflow'))
          ? null
          : 'tfjs-node-gpu loaded but its backend did not start';
      case 'tensorflow':
        await import(/* optional */ '@tensorflow/tfjs-node' as string);
        return (await tf.setBackend('tensorflow'))
          ? null
          : 'tfjs-node loaded but its backend did not start';
      case 'native':
        await (await import('./native/index.js')).loadNativeEngine();
        await importWasmBackend();
        return (await tf.setBackend('wasm'))
          ? null
          : 'the wasm backend beneath the native engine did not start';
      case 'wasm':
        await importWasmBackend();
        return (await tf.setBackend('wasm')) ? null : 'the wasm backend did not start';
      case 'cpu':
        return (await tf.setBackend('cpu')) ? null : 'the cpu backend did not start';
    }
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    if (name.startsWith('tensorflow') && /Cannot find (module|package)/.test(message))
      return `${name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'} is not installed (it downloads libtensorflow at install time)`;
    return message.split('\n')[0] ?? message;
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
  if (active && (want === null || active.name === want)) return active;
  const order = want ? [want] : [...BACKENDS];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    const reason = await tryLoad(name);
    if (reason === null) {
      await tf.ready();
      tf.enableProdMode(); // drops per-op NaN checks, which cost more than the ops on small models
      active = { name, tfjsBackend: tf.getBackend(), skipped };
      if (skipped.length > 0)
        log(`rdlab: backend ${name} (${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')})`);
      return active;
    }
    skipped.push({ name, reason });
  }
  throw new Error(
    `no backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`,
  );
}

/** The backend started by {@link initBackend}, or null. */
export function activeBackend(): BackendInfo | null {
  return active;
}
