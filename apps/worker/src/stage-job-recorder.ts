/**
 * The worker's moves of stage-job rows (active, completed, failed, waiting), kept in step with
 * the queue across a Postgres outage. BullMQ moves a job whether or not Postgres answers; a move
 * written once and dropped on error would leave its row `active` for good. So each move is
 * retried with backoff while Postgres is unreachable, and the moves of one job land in the
 * order they happened (a retried `active` never overwrites the `completed` after it).
 */
import { isDatabaseUnavailable, type StageJobRepository, type StageJobTransition } from '@rdlab/db';

type StageJobState = Parameters<StageJobRepository['transitionByKey']>[1];

export interface StageJobRecorderOptions {
  /** Milliseconds before the first retry; doubled per failure. @defaultValue 1000 */
  retryDelayMs?: number;
  /** Longest wait between retries, in milliseconds. @defaultValue 30000 */
  maxRetryDelayMs?: number;
  /** Milliseconds after which a move still not written is dropped (and logged). @defaultValue 3600000 */
  giveUpAfterMs?: number;
  /** One line per move that fails for another reason than an outage, or is given up. */
  log?: (line: string, error: unknown) => void;
}

export class StageJobRecorder {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly giveUpAfterMs: number;
  private readonly log: (line: string, error: unknown) => void;
  private closed = false;

  constructor(
    private readonly stageJobs: Pick<StageJobRepository, 'transitionByKey'>,
    options: StageJobRecorderOptions = {},
  ) {
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 3_600_000;
    if (!(this.retryDelayMs > 0 && this.maxRetryDelayMs >= this.retryDelayMs))
      throw new RangeError('retryDelayMs must be > 0 and maxRetryDelayMs >= retryDelayMs');
    this.log = options.log ?? (() => {});
  }

  /** Moves every row of job `key` to `state`, after the moves recorded before for that job. */
  record(key: string, state: StageJobState, details: StageJobTransition = {}): void {
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous.then(() => this.write(key, state, details));
    this.chains.set(key, next);
    void next.then(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
  }

  /** Moves not written yet. */
  get pending(): number {
    return this.chains.size;
  }

  /** Waits for the moves in flight, at most `timeoutMs`; later retries are then skipped. */
  async close(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.chains.values()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.closed = true;
  }

  private async write(key: string, state: StageJobState, details: StageJobTransition) {
    const deadline = Date.now() + this.giveUpAfterMs;
    for (let failures = 0; ; failures++) {
      try {
        await this.stageJobs.transitionByKey(key, state, details);
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) {
          this.log(`stage job ${key} → ${state} not recorded`, error);
          return;
        }
        const delayMs = Math.min(
          this.retryDelayMs * 2 ** Math.min(failures, 30),
          this.maxRetryDelayMs,
        );
        if (this.closed || Date.now() + delayMs > deadline) {
          this.log(`stage job ${key} → ${state} given up: Postgres stayed unreachable`, error);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }
}
