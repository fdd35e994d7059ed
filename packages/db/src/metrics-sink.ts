/**
 * Streams a running experiment's metric points into `metric_points`, in batches, so a training
 * loop pays for one INSERT per `batchSize` points rather than one per point. Grafana charts the
 * table as it fills.
 */
import { DbError } from './errors.js';

/**
 * One scalar a stage reports. Declared here by shape (pipeline's MetricsSink point): db sits
 * below the pipeline and does not import it.
 */
export interface MetricPointInput {
  cell: string;
  stage: 'prepare' | 'bootstrap' | 'train' | 'eval';
  epoch: number;
  step: number;
  name: string;
  value: number;
}

/** A row of `metric_points`, as the sink writes it. */
export interface MetricPointRow {
  experimentId: string;
  cellId: string;
  stage: string;
  epoch: number;
  step: number;
  name: string;
  value: number;
  time: Date;
}

/** What the sink writes through: a PrismaClient, or a test double. */
export interface MetricPointWriter {
  metricPoint: {
    createMany(args: {
      data: MetricPointRow[];
      skipDuplicates?: boolean;
    }): PromiseLike<{ count: number }>;
  };
}

export interface PostgresMetricsSinkOptions {
  /** The experiment every point belongs to. */
  experimentId: string;
  /**
   * Points per INSERT; a full buffer is written at once.
   * @defaultValue 500
   */
  batchSize?: number;
  /**
   * Milliseconds between background flushes of a partly filled buffer; 0 turns them off.
   * @defaultValue 1000
   */
  flushIntervalMs?: number;
  /**
   * Most points held while writes fail (at least `batchSize`). Past it, `record()` waits,
   * retrying, until the database takes the backlog: the stage pauses, no point is dropped.
   * A point is about 200 bytes, so the default holds ≈20 MB.
   * @defaultValue 100000
   */
  maxPendingPoints?: number;
  /**
   * Milliseconds before the first retry of a failed write; each further failure doubles it, up
   * to `maxRetryDelayMs`. Until then, `record()` and the timer only buffer (no connection storm,
   * no log line per training step).
   * @defaultValue 1000
   */
  retryDelayMs?: number;
  /** Longest wait between two retries, in milliseconds. @defaultValue 15000 */
  maxRetryDelayMs?: number;
  /**
   * How long `close()` keeps retrying the pending points, in milliseconds, before it rejects
   * with `RDLAB_DB_METRICS_UNFLUSHED`; 0 tries once.
   * @defaultValue 300000
   */
  closeTimeoutMs?: number;
  /**
   * Called with each failed write (the points stay pending).
   * @defaultValue one console.warn line: points kept, next retry, the driver's message
   */
  onError?: (error: unknown) => void;
}

/**
 * `record()` buffers; a full batch, the timer, `flush()` and `close()` write. A failed write
 * keeps its points, in order, and is retried with exponential backoff: points are never dropped
 * silently (`pending` says how many wait). The buffer is bounded: past `maxPendingPoints`,
 * `record()` waits for the database (back-pressure) instead of growing or dropping.
 *
 * Writes are idempotent: `metric_points` is unique on (experiment, cell, name, step, epoch,
 * stage) and the INSERT skips rows already there, so a batch whose commit went through but
 * whose reply was lost is not stored twice when retried (`duplicates` counts such rows).
 * Non-finite values (NaN, ±Infinity) are skipped and counted in `skipped`: Postgres float8
 * stores them, but Grafana's SQL data source chokes.
 */
export class PostgresMetricsSink {
  /** Points delivered so far (duplicates included). */
  written = 0;
  /** Non-finite points left out. */
  skipped = 0;
  /** Delivered points the table already held (a retried batch, a redone step). */
  duplicates = 0;

  private readonly experimentId: string;
  private readonly batchSize: number;
  private readonly maxPendingPoints: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly closeTimeoutMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly timer: NodeJS.Timeout | undefined;
  private buffer: MetricPointRow[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Failed writes in a row, and when the next retry is due (epoch ms; 0 = now). */
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly db: MetricPointWriter,
    options: PostgresMetricsSinkOptions,
  ) {
    const {
      experimentId,
      batchSize = 500,
      flushIntervalMs = 1000,
      maxPendingPoints = 100_000,
      retryDelayMs = 1000,
      maxRetryDelayMs = 15_000,
      closeTimeoutMs = 300_000,
      onError,
    } = options;
    if (typeof experimentId !== 'string' || experimentId.length === 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', 'experimentId must be a non-empty string');
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `batchSize must be a positive integer`);
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `flushIntervalMs must be >= 0`);
    if (!Number.isInteger(maxPendingPoints) || maxPendingPoints < batchSize)
      throw new DbError(
        'RDLAB_DB_INVALID_OPTIONS',
        `maxPendingPoints must be an integer >= batchSize (${batchSize}), got ${maxPendingPoints}`,
      );
    if (!Number.isFinite(retryDelayMs) || retryDelayMs <= 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `retryDelayMs must be > 0`);
    if (!Number.isFinite(maxRetryDelayMs) || maxRetryDelayMs < retryDelayMs)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `maxRetryDelayMs must be >= retryDelayMs`);
    if (!Number.isFinite(closeTimeoutMs) || closeTimeoutMs < 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `closeTimeoutMs must be >= 0`);
    this.experimentId = experimentId;
    this.batchSize = batchSize;
    this.maxPendingPoints = maxPendingPoints;
    this.retryDelayMs = retryDelayMs;
    this.maxRetryDelayMs = maxRetryDelayMs;
    this.closeTimeoutMs = closeTimeoutMs;
    this.onError =
      onError ??
      ((error) =>
        // One line per failed write (at most one per backoff), not the driver's whole report.
        console.warn(
          `metrics sink of ${experimentId}: write failed, ${this.pending} points kept, retry in ${Math.max(0, this.retryAt - Date.now())} ms: ${lastLine(error)}`,
        ));
    if (flushIntervalMs > 0) {
      this.timer = setInterval(() => {
        if (this.buffer.length > 0 && this.retryDue()) this.write(false, true).catch(this.onError);
      }, flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Points recorded but not yet written. */
  get pending(): number {
    return this.buffer.length;
  }

  /**
   * Buffers `points`; writes full batches before returning (back-pressure on a fast loop).
   * A failed write does not reject here: it is reported to `onError` and retried after a
   * backoff. With `maxPendingPoints` or more pending, waits until the backlog is written.
   */
  async record(points: readonly MetricPointInput[]): Promise<void> {
    if (this.closed) throw new DbError('RDLAB_DB_METRICS_CLOSED', 'metrics sink is closed');
    const time = new Date();
    for (const p of points) {
      if (!Number.isFinite(p.value)) {
        this.skipped++;
        continue;
      }
      this.buffer.push({
        experimentId: this.experimentId,
        cellId: p.cell,
        stage: p.stage,
        epoch: p.epoch,
        step: p.step,
        name: p.name,
        value: p.value,
        time,
      });
    }
    if (this.buffer.length >= this.batchSize && this.retryDue()) {
      await this.write(true, true).catch(this.onError);
    }
    while (this.buffer.length >= this.maxPendingPoints) {
      await sleep(this.retryAt - Date.now());
      await this.write(true).catch(this.onError);
    }
  }

  /** Writes every pending point; rejects (keeping them) when a write fails. */
  flush(): Promise<void> {
    return this.write(false);
  }

  /**
   * Resolves once every point recorded so far is written, retrying with backoff through an
   * outage for up to `timeoutMs` (default `closeTimeoutMs`); then rejects with
   * `RDLAB_DB_METRICS_UNFLUSHED`, the points still pending. Training settles before it moves a
   * checkpoint pointer, so no checkpoint outlives the metrics of the steps it holds.
   */
  async settle(timeoutMs = this.closeTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.flush();
        return;
      } catch (cause) {
        if (this.retryAt > deadline) {
          throw new DbError(
            'RDLAB_DB_METRICS_UNFLUSHED',
            `${this.pending} metric points of ${this.experimentId} could not be written within ${timeoutMs} ms`,
            { cause },
          );
        }
        this.onError(cause);
        await sleep(this.retryAt - Date.now());
      }
    }
  }

  /** Stops the timer and {@link settle}s what is pending. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.settle();
  }

  private retryDue(): boolean {
    return Date.now() >= this.retryAt;
  }

  /**
   * One writer at a time: batches go out in order, and a batch leaves the buffer only once
   * written. With `fullOnly`, a partial last batch stays for the timer. A failure schedules
   * the next retry (`retryAt`); a success clears it. With `ifDue`, a write queued behind one
   * that just failed is skipped (the timer and `record()` would otherwise try twice a round).
   */
  private write(fullOnly: boolean, ifDue = false): Promise<void> {
    const run = async (): Promise<void> => {
      await this.flushing?.catch(() => {});
      if (ifDue && !this.retryDue()) return;
      try {
        while (this.buffer.length >= (fullOnly ? this.batchSize : 1)) {
          const batch = this.buffer.slice(0, this.batchSize);
          const { count } = await this.db.metricPoint.createMany({
            data: batch,
            skipDuplicates: true,
          });
          this.buffer.splice(0, batch.length);
          this.written += batch.length;
          this.duplicates += batch.length - count;
          this.failures = 0;
          this.retryAt = 0;
        }
      } catch (error) {
        this.failures++;
        const delayMs = Math.min(
          this.retryDelayMs * 2 ** Math.min(this.failures - 1, 30),
          this.maxRetryDelayMs,
        );
        this.retryAt = Date.now() + delayMs;
        throw error;
      }
    };
    const current = run();
    this.flushing = current;
    return current;
  }
}

const lastLine = (error: unknown) =>
  String(error instanceof Error ? error.message : error)
    .trim()
    .split('\n')
    .at(-1);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
