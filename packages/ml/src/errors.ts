/**
 * Errors of the ml package's model files (tokenizers, checkpoints, checkpoint downloads), with
 * stable codes: every code is in {@link ML_FILE_ERROR_CODES}, and every message starts with its
 * code and names the file, tensor or URL it is about.
 */

export const ML_FILE_ERROR_CODES = [
  /** A tokenizer.json (or the folder that should hold it) is not there. */
  'RDLAB_TOKENIZER_MISSING',
  /** A tokenizer.json or tokenizer_config.json is not valid JSON or not a tokenizer. */
  'RDLAB_TOKENIZER_MALFORMED',
  /** A checkpoint folder has neither model.safetensors nor model.safetensors.index.json. */
  'RDLAB_CHECKPOINT_MISSING',
  /** A safetensors header or index is damaged: bad JSON, offsets outside the file, a tensor missing. */
  'RDLAB_CHECKPOINT_MALFORMED',
  /** A tensor's dtype is not one rdlab reads (F32, F16, BF16). */
  'RDLAB_CHECKPOINT_DTYPE',
  /** A checkpoint reference cannot be resolved or a file of it cannot be downloaded. */
  'RDLAB_CHECKPOINT_DOWNLOAD',
  /** A downloaded file is not the bytes its source vouches for (SHA-256 or length), after retries. */
  'RDLAB_CHECKPOINT_CHECKSUM',
] as const;

export type MlFileErrorCode = (typeof ML_FILE_ERROR_CODES)[number];

export class ModelFileError extends Error {
  constructor(
    readonly code: MlFileErrorCode,
    /** The file, tensor or URL the error is about. */
    readonly subject: string,
    detail: string,
  ) {
    super(`${code}: ${subject}: ${detail}`);
    this.name = 'ModelFileError';
  }
}
