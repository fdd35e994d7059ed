/**
 * What a stage needs from the world, as interfaces: the artifact store, a metrics sink and a
 * progress reporter. A stage never imports BullMQ, Fastify or Prisma; `rdlab run --local`, the
 * workers and the tests each pass their own implementations.
 */
import type { ArtifactStore } from '@rdlab/store';

/** One scalar of a cell's training or evaluation, keyed as Grafana and Postgres read it. */
export interface MetricPoint {
  /** Cell id, or `dataset/attribute` for stages shared by cells. */
  cell: string;
  stage: 'prepare' | 'bootstrap' | 'train' | 'eval';
  epoch: number;
  step: number;
  name: string;
  value: number;
}

export interface MetricsSink {
  record(points: MetricPoint[]): void | Promise<void>;
  /**
   * Resolves once every point recorded so far is stored (waiting out an outage, within the
   * sink's limit). Training calls it before moving a cell's checkpoint pointer: a worker killed
   * after the move must not take the metrics of the checkpointed steps with it. Sinks that
   * store at once need not have it.
   */
  settle?(): Promise<void>;
}

/** A task with a known total (prefixes sampled, steps of an epoch, cells). */
export interface ProgressTask {
  id: string;
  label: string;
  total: number;
  unit: string;
}

export interface Progress {
  start(task: ProgressTask): void;
  advance(id: string, amount?: number, note?: string): void;
  finish(id: string): void;
  log(line: string): void;
}

/** Counts of expensive work, so tests can prove what content addressing skips. */
export interface WorkCounters {
  /** Behaviour sequences sampled by bootstrap shards. */
  sampledSequences: number;
  /** Shards written (not found in the store). */
  shardsWritten: number;
  /** Target-model update steps. */
  trainSteps: number;
  /** Models (tokenizer, β, R) trained rather than loaded. */
  modelsTrained: number;
}

export interface StageContext {
  store: ArtifactStore;
  metrics: MetricsSink;
  progress: Progress;
  /** Folder relative dataset and checkpoint paths resolve against (the spec's folder). */
  baseDir: string;
  /** Scratch space for files on their way to or from the store. */
  workDir: string;
  /** Where downloaded datasets are cached. */
  cacheDir?: string;
  counters: WorkCounters;
  /** Cancels long stages between steps. */
  signal?: AbortSignal;
  /**
   * Asks a stage to stop at its next step boundary after writing a checkpoint there (a worker
   * shutting down), so whoever runs it next resumes from that step.
   */
  release?: AbortSignal;
}

export function newCounters(): WorkCounters {
  return { sampledSequences: 0, shardsWritten: 0, trainSteps: 0, modelsTrained: 0 };
}

export const silentProgress: Progress = {
  start() {},
  advance() {},
  finish() {},
  log() {},
};

/** Keeps every point in memory (tests, and the local runner's summary). */
export class MemoryMetrics implements MetricsSink {
  readonly points: MetricPoint[] = [];
  record(points: MetricPoint[]): void {
    this.points.push(...points);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw signal.reason instanceof Error ? signal.reason : new Error('cancelled');
}
