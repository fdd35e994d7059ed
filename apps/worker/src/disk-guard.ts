/**
 * A worker whose disk filled takes no more jobs until that disk has room again: the job that
 * failed with RDLAB_DISK_FULL is retried by BullMQ on a worker whose disk is fine, instead of
 * failing here again and spending its attempts. A job that itself needs more room than a disk
 * has frees it when it fails (its scratch folder is removed), so the worker resumes at the next
 * check; a disk filled by something else keeps the worker out until someone frees it.
 *
 *   RDLAB_MIN_FREE_DISK_MB   room a full disk must have again before the worker takes jobs (default 1024)
 *   RDLAB_DISK_CHECK_MS      how often a paused worker looks (default 30000)
 */
import { freeBytes } from '@rdlab/store';
import { WorkerConfigError } from './config.js';

export interface DiskGuardOptions {
  /** Bytes free on the full disk before the worker takes jobs again. @defaultValue 1 GiB */
  minFreeBytes: number;
  /** Milliseconds between looks while paused. @defaultValue 30000 */
  checkMs: number;
}

export function diskGuardOptions(env: NodeJS.ProcessEnv = process.env): DiskGuardOptions {
  const read = (name: string, fallback: number, least: number) => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < least)
      throw new WorkerConfigError(`${name} must be an integer ≥ ${least}, got '${text}'`);
    return value;
  };
  return {
    minFreeBytes: read('RDLAB_MIN_FREE_DISK_MB', 1024, 0) * 1024 * 1024,
    checkMs: read('RDLAB_DISK_CHECK_MS', 30_000, 1),
  };
}

/** The part of a BullMQ Worker the guard drives. */
interface Pausable {
  pause(doNotWaitActive?: boolean): Promise<void>;
  resume(): void;
}

export class DiskGuard {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly worker: Pausable,
    private readonly options: DiskGuardOptions,
    private readonly log: (message: string) => void,
  ) {}

  /** Whether the worker is out for a full disk. */
  get tripped(): boolean {
    return this.timer !== null;
  }

  /** Stops taking jobs until `path` has `minFreeBytes` free. */
  trip(path: string): void {
    if (this.timer) return;
    this.log(
      `disk full at ${path}: taking no jobs until ${this.options.minFreeBytes} bytes are free there`,
    );
    void this.worker.pause(true).catch(() => {});
    this.timer = setInterval(() => {
      void freeBytes(path).then((free) => {
        if (!this.timer || (free !== null && free < this.options.minFreeBytes)) return;
        this.stop();
        this.log(`disk at ${path} has room again (${free ?? '?'} bytes free): taking jobs`);
        this.worker.resume();
      });
    }, this.options.checkMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
