/**
 * Stage jobs: one row per BullMQ job (`key` is its job id), so the API can show progress and
 * Grafana can chart the queue without asking Redis.
 */
import type { PrismaClientOrTransaction } from './client.js';
import { DbError } from './errors.js';
import type { Prisma, StageJob, StageJobState, StageKind } from './generated/prisma/client.js';

export interface StageJobInput {
  experimentId: string;
  /** The BullMQ job id; unique within the experiment. */
  key: string;
  kind: StageKind;
  /** Null for the shared stages (prepare, bootstrap). */
  cellId?: string | null;
  /** @defaultValue 'waiting' when created; unchanged when the job exists */
  state?: StageJobState;
}

export interface StageJobTransition {
  /** Worker id, recorded when the job becomes active. */
  worker?: string | null;
  /** Compute backend that runs it (`tfjs-wasm`, `native`, ...). */
  backend?: string | null;
  /** Why it failed; cleared when it becomes active again. */
  error?: string | null;
}

/** `evaluate`: what rows written before the publish job got its name say (see `stageKindOf`). */
export type CurrentStageKind = Exclude<StageKind, 'evaluate'>;

export type StageJobCounts = Record<CurrentStageKind, Record<StageJobState, number>>;

const KINDS: readonly CurrentStageKind[] = ['prepare', 'bootstrap', 'train', 'publish', 'report'];

/** A row's kind by its current name: the publish job's rows from before the rename say `evaluate`. */
export function stageKindOf(kind: StageKind): CurrentStageKind {
  return kind === 'evaluate' ? 'publish' : kind;
}
const STATES: readonly StageJobState[] = ['waiting', 'active', 'completed', 'failed', 'cancelled'];

export class StageJobRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /**
   * Records a job by (experimentId, key): creates it, or updates kind, cell and (when given)
   * state of an existing one. Safe to repeat, as enqueueing is.
   */
  upsertStageJob(input: StageJobInput, tx?: PrismaClientOrTransaction): Promise<StageJob> {
    const { experimentId, key, kind, state } = input;
    const cellId = input.cellId ?? null;
    return (tx ?? this.db).stageJob.upsert({
      where: { experimentId_key: { experimentId, key } },
      create: { experimentId, key, kind, cellId, state: state ?? 'waiting' },
      update: { kind, cellId, ...(state ? { state } : {}) },
    });
  }

  /**
   * Moves a job to `state`: `active` counts an attempt and stamps `startedAt` (and the worker);
   * `completed`/`failed`/`cancelled` stamp `finishedAt`; `waiting` (a retry) clears both.
   * `RDLAB_DB_NOT_FOUND` when the job is unknown.
   */
  async transitionStageJob(
    experimentId: string,
    key: string,
    state: StageJobState,
    details: StageJobTransition = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<StageJob> {
    const db = tx ?? this.db;
    const { count } = await db.stageJob.updateMany({
      where: { experimentId, key },
      data: transitionData(state, details),
    });
    const job = count
      ? await db.stageJob.findUnique({ where: { experimentId_key: { experimentId, key } } })
      : null;
    if (!job) throw new DbError('RDLAB_DB_NOT_FOUND', `no stage job ${key} in ${experimentId}`);
    return job;
  }

  /**
   * The same move for every experiment's row of job `key` (a shared shard or cell has one per
   * experiment that asked for it), as a worker reports it. Returns how many rows moved.
   */
  async transitionByKey(
    key: string,
    state: StageJobState,
    details: StageJobTransition = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<number> {
    const { count } = await (tx ?? this.db).stageJob.updateMany({
      where: { key },
      data: transitionData(state, details),
    });
    return count;
  }

  /** An experiment's jobs, oldest first. */
  listStageJobs(experimentId: string, tx?: PrismaClientOrTransaction): Promise<StageJob[]> {
    return (tx ?? this.db).stageJob.findMany({
      where: { experimentId },
      orderBy: [{ queuedAt: 'asc' }, { key: 'asc' }],
    });
  }

  /** Jobs per kind and state, every pair present (0 when none): the progress bar. */
  async countStageJobs(
    experimentId: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<StageJobCounts> {
    const groups = await (tx ?? this.db).stageJob.groupBy({
      by: ['kind', 'state'],
      where: { experimentId },
      _count: { _all: true },
    });
    const counts = Object.fromEntries(
      KINDS.map((kind) => [kind, Object.fromEntries(STATES.map((s) => [s, 0]))]),
    ) as StageJobCounts;
    for (const g of groups) counts[stageKindOf(g.kind)][g.state] += g._count._all;
    return counts;
  }
}

/** The columns a move to `state` sets (see `transitionStageJob`). */
function transitionData(
  state: StageJobState,
  details: StageJobTransition,
): Prisma.StageJobUpdateManyMutationInput {
  const now = new Date();
  const data: Prisma.StageJobUpdateManyMutationInput = { state };
  if (details.worker !== undefined) data.worker = details.worker;
  if (details.backend !== undefined) data.backend = details.backend;
  if (details.error !== undefined) data.error = details.error;
  if (state === 'active') {
    data.attempts = { increment: 1 };
    data.startedAt = now;
    data.finishedAt = null;
    if (details.error === undefined) data.error = null;
  } else if (state === 'waiting') {
    data.startedAt = null;
    data.finishedAt = null;
  } else {
    data.finishedAt = now;
  }
  return data;
}
