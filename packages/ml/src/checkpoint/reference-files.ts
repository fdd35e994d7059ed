/**
 * A checkpoint reference's files as the reference checks read them: whole small files (config,
 * tokenizer, weights index) and the tensor shapes of a safetensors header, never the weights.
 * One interface for a local folder (here) and an `https://`/`s3://` source (remote-reference.ts),
 * so each check is written once (reference-check.ts picks the one a reference needs).
 *
 * ```ts
 * const files = localReferenceFiles('/models/bert-base-uncased');
 * await files.text('config.json'); // null when absent
 * await files.safetensorsShapes('model.safetensors'); // Map { 'bert.embeddings…' => [30522, 768], … }
 * ```
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelFileError } from '../errors.js';
import { SafetensorsFile } from './safetensors-file.js';

/** A missing file is null; a remote source that cannot be read throws `UnreachableError`. */
export interface ReferenceFiles {
  /** Where file `name` is, for messages: its path or URL. */
  where(name: string): string;
  text(name: string): Promise<string | null>;
  /** The tensor shapes (by checkpoint key) of safetensors file `name`'s header. */
  safetensorsShapes(name: string): Promise<ReadonlyMap<string, number[]> | null>;
}

/** True for `https://`, `http://` and `s3://` references (read by requests, not from disk). */
export function isRemoteReference(ref: string): boolean {
  return /^(https?|s3):\/\//.test(ref);
}

/** A local reference's folder: `file://…`, an absolute path, or relative to `baseDir`. */
export function localReferencePath(ref: string, baseDir = process.cwd()): string {
  if (ref.startsWith('file://')) return fileURLToPath(ref);
  return isAbsolute(ref) ? ref : resolve(baseDir, ref);
}

/** Folder `dir`'s files; an unreadable file counts as absent, as a missing one does. */
export function localReferenceFiles(dir: string): ReferenceFiles {
  return {
    where: (name) => join(dir, name),
    text: (name) => readFile(join(dir, name), 'utf8').catch(() => null),
    safetensorsShapes: async (name) => {
      // Opening reads and checks the header only (its first bytes), as a worker's reader will.
      const file = await SafetensorsFile.open(join(dir, name)).catch((error: ModelFileError) => {
        if (error.code === 'RDLAB_CHECKPOINT_MISSING') return null;
        throw error;
      });
      if (file === null) return null;
      await file.close();
      return new Map([...file.tensors].map(([key, info]) => [key, info.shape]));
    },
  };
}
