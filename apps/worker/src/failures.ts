/**
 * What a failed stage tells BullMQ: retry it (later, maybe on another worker) or give up now.
 *
 *   retried        anything not listed below: a store outage, a lost connection, a bug that may
 *                  not recur; also RDLAB_DISK_FULL (this worker's disk, not the job: the worker
 *                  stops taking jobs until it has room, so another worker runs the retry)
 *   not retried    RDLAB_JOB_PAYLOAD_INVALID, RDLAB_STORE_INVALID_KEY (the same input fails the
 *                  same way), RDLAB_STORE_CORRUPT (the store already read the object again: it is
 *                  damaged until someone deletes it)
 *
 * A full disk's ENOSPC carries no path (the write syscall has none), so the error names the
 * worker's folder with the least free space: scratch, the dataset cache or a local store.
 */
import { DiskFullError, freeBytes, isNoSpace } from '@rdlab/store';
import { UnrecoverableError } from 'bullmq';

/** The local folders a job writes to, each with the variable that moves it. */
export interface DiskPlace {
  path: string;
  variable: string;
}

const NOT_RETRIED = new Set([
  'RDLAB_JOB_PAYLOAD_INVALID',
  'RDLAB_STORE_INVALID_KEY',
  'RDLAB_STORE_CORRUPT',
]);

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `error` or one of its causes, when it means a full disk. */
function noSpaceIn(error: unknown): unknown {
  for (let e = error, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++)
    if (e instanceof DiskFullError || codeOf(e) === 'RDLAB_DISK_FULL' || isNoSpace(e)) return e;
  return null;
}

/** The error to throw to BullMQ for `error`, a failure of job `jobName`. */
export async function classifyFailure(
  error: unknown,
  jobName: string,
  places: DiskPlace[],
): Promise<unknown> {
  const full = noSpaceIn(error);
  if (full && codeOf(full) === 'RDLAB_DISK_FULL') return full;
  if (full) {
    const free = await Promise.all(places.map((p) => freeBytes(p.path)));
    let at = 0;
    for (let i = 1; i < places.length; i++)
      if ((free[i] ?? Infinity) < (free[at] ?? Infinity)) at = i;
    const place = places[at] ?? { path: '(unknown folder)', variable: 'RDLAB_WORK_DIR' };
    return new DiskFullError(
      place.path,
      `the local files of job ${jobName} (${(error as Error).message})`,
      free[at] ?? null,
      `free space there or point ${place.variable} at a larger disk; the job is retried on another worker`,
    );
  }
  const code = codeOf(error);
  if (code && NOT_RETRIED.has(code)) {
    const message = (error as Error).message;
    return new UnrecoverableError(message.startsWith(code) ? message : `${code}: ${message}`);
  }
  return error;
}
