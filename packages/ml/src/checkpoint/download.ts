/**
 * One file downloaded into place, never half: the body streams to a temporary name beside the
 * target while its SHA-256 is computed, and is renamed to the target only when it is complete
 * and matches what the source vouches for (a SHA-256, else a length). A body cut off or wrong is
 * fetched again, `attempts` times in all; then the error, with nothing left under either name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';

/** One response: the body and what the source says it should be. */
export interface FetchedBody {
  body: AsyncIterable<Uint8Array>;
  /** The SHA-256 (hex) the source records for the object, when it records one. */
  sha256: string | null;
  /** The length the source announces (Content-Length), when it does. */
  bytes: number | null;
}

export interface DownloadOptions {
  /** Whole tries before giving up. @defaultValue 3 */
  attempts?: number;
  /** Wait before the second try, in ms, doubled after each. @defaultValue 250 */
  retryDelayMs?: number;
}

/** Downloads `open()`'s body to `target` (see the module comment); `what` names it in errors. */
export async function downloadVerified(
  what: string,
  target: string,
  fetchBody: () => Promise<FetchedBody>,
  options: DownloadOptions = {},
): Promise<{ sha256: string; bytes: number; attempts: number }> {
  const attempts = options.attempts ?? 3;
  let delay = options.retryDelayMs ?? 250;
  let last: ModelFileError | null = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
    const temp = `${target}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      const got = await fetchBody();
      const hash = createHash('sha256');
      let bytes = 0;
      const file = await open(temp, 'w');
      try {
        for await (const chunk of got.body) {
          hash.update(chunk);
          let done = 0;
          while (done < chunk.byteLength) {
            const { bytesWritten } = await file.write(chunk, done, chunk.byteLength - done);
            done += bytesWritten;
          }
          bytes += chunk.byteLength;
        }
        await file.sync();
      } finally {
        await file.close();
      }
      const sha256 = hash.digest('hex');
      const problem =
        got.sha256 !== null && sha256 !== got.sha256.toLowerCase()
          ? `SHA-256 ${sha256.slice(0, 12)}…, the source records ${got.sha256.slice(0, 12)}…`
          : got.bytes !== null && bytes !== got.bytes
            ? `${bytes} bytes received, ${got.bytes} announced`
            : null;
      if (problem) {
        last = new ModelFileError(
          'RDLAB_CHECKPOINT_CHECKSUM',
          what,
          `${problem} (after ${attempt} of ${attempts} downloads)`,
        );
        await rm(temp, { force: true });
        continue;
      }
      await rename(temp, target);
      return { sha256, bytes, attempts: attempt };
    } catch (error) {
      await rm(temp, { force: true });
      if (error instanceof ModelFileError && error.code !== 'RDLAB_CHECKPOINT_DOWNLOAD')
        throw error;
      last =
        error instanceof ModelFileError
          ? error
          : new ModelFileError(
              'RDLAB_CHECKPOINT_DOWNLOAD',
              what,
              `download cut off or failed (${(error as Error).message}; ${attempt} of ${attempts} tries)`,
            );
      if ((error as { permanent?: boolean }).permanent) break;
    }
  }
  throw last as ModelFileError;
}
