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
    createMany(args: { data: MetricPointRow[] }): PromiseLike<{ count: number }>;
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
  /** Called with each failed write (the points stay pending). @defaultValue console.warn */
  onError?: (error: unknown) => void;
}

/**
 * `record()` buffers; a full batch, the timer, `flush()` and `close()` write. A failed write
 * keeps its points, in order, and the next flush retries them: points are never dropped
 * silently (`pending` says how many wait). Non-finite values (NaN, ±Infinity) are skipped and
 * counted in `skipped`: Postgres float8 stores them, but Grafana's SQL data source chokes.
 */
export class PostgresMetricsSink {
  /** Points written so far. */
  written = 0;
  /** Non-finite points left out. */
  skipped = 0;

  private readonly experimentId: string;
  private readonly batchSize: number;
  private readonly onError: (error: unknown) => void;
  private readonly timer: NodeJS.Timeout | undefined;
  private buffer: MetricPointRow[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly db: MetricPointWriter,
    options: PostgresMetricsSinkOptions,
  ) {
    const { experimentId, batchSize = 500, flushIntervalMs = 1000, onError } = options;
    if (typeof experimentId !== 'string' || experimentId.length === 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', 'experimentId must be a non-empty string');
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `batchSize must be a positive integer`);
    if (!Number.isFinite(flushIntervalMs) || flushIntervalMs < 0)
      throw new DbError('RDLAB_DB_INVALID_OPTIONS', `flushIntervalMs must be >= 0`);
    this.experimentId = experimentId;
    this.batchSize = batchSize;
    this.onError =
      onError ?? ((error) => console.warn('metrics sink: write failed, will retry:', error));
    if (flushIntervalMs > 0) {
      this.timer = setInterval(() => {
        if (this.buffer.length > 0) this.flush().catch(this.onError);
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
   * A failed write does not reject here: it is reported to `onError` and retried.
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
    if (this.buffer.length >= this.batchSize) {
      await this.write(true).catch(this.onError);
    }
  }

  /** Writes every pending point; rejects (keeping them) when a write fails. */
  flush(): Promise<void> {
    return this.write(false);
  }

  /**
   * Stops the timer and writes what is pending. Rejects with `RDLAB_DB_METRICS_UNFLUSHED` when
   * points could not be written (they stay in `pending`; `flush()` may be called again).
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      await this.flush();
    } catch (cause) {
      throw new DbError(
        'RDLAB_DB_METRICS_UNFLUSHED',
        `${this.pending} metric points of ${this.experimentId} could not be written`,
        { cause },
      );
    }
  }

  /**
   * One writer at a time: batches go out in order, and a batch leaves the buffer only once
   * written. With `fullOnly`, a partial last batch stays for the timer.
   */
  private write(fullOnly: boolean): Promise<void> {
    const run = async (): Promise<void> => {
      await this.flushing?.catch(() => {});
      while (this.buffer.length >= (fullOnly ? this.batchSize : 1)) {
        const batch = this.buffer.slice(0, this.batchSize);
        await this.db.metricPoint.createMany({ data: batch });
        this.buffer.splice(0, batch.length);
        this.written += batch.length;
      }
    };
    const current = run();
    this.flushing = current;
    return current;
  }
}
