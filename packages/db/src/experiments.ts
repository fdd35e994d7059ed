/** Experiments: a posted sweep and its cells, created together or not at all. */
import { randomBytes } from 'node:crypto';
import { inTransaction, type PrismaClientOrTransaction } from './client.js';
import { DbError, isUniqueViolation } from './errors.js';
import type { Cell, Experiment, ExperimentStatus, Prisma } from './generated/prisma/client.js';

/** One cell of a new experiment; `id` is the cell's content id. */
export interface NewCell {
  id: string;
  index: number;
  dataset: string;
  attribute: string;
  target: string;
  /** A label such as `quantile 0.8`. */
  dropout: string;
  dropoutConfig: Prisma.InputJsonValue;
  seed: number;
  /** Everything the content id covers, resolved at submission (`cellSettings` of @rdlab/core). */
  settings?: Prisma.InputJsonValue;
}

export interface NewExperiment {
  /** @defaultValue `e` + 16 random hex characters */
  id?: string;
  teamId: string;
  ownerTokenId?: string | null;
  name: string;
  /** The spec as posted. */
  specSubmitted: Prisma.InputJsonValue;
  /** The spec with defaults filled in. */
  specResolved: Prisma.InputJsonValue;
  /** A repeated create with the same key (per team) returns the first experiment. */
  idempotencyKey?: string | null;
  cells: NewCell[];
}

export interface CreatedExperiment {
  experiment: Experiment;
  /** False when the idempotency key matched an existing experiment (nothing was written). */
  created: boolean;
}

export interface ExperimentPage {
  items: Experiment[];
  /** Pass as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

/** Statuses after which an experiment does not change any more. */
export const TERMINAL_EXPERIMENT_STATUSES: readonly ExperimentStatus[] = [
  'succeeded',
  'failed',
  'cancelled',
  'partial',
];

/** A new experiment id: `e` + 16 hex characters. */
export function newExperimentId(): string {
  return `e${randomBytes(8).toString('hex')}`;
}

export class ExperimentRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /**
   * Creates the experiment and all its cells in one transaction: either both are written or
   * nothing is. With an `idempotencyKey` already used by the team, returns that experiment
   * (`created: false`), also when two requests race.
   */
  async createExperiment(
    input: NewExperiment,
    tx?: PrismaClientOrTransaction,
  ): Promise<CreatedExperiment> {
    const db = tx ?? this.db;
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const existing = await this.findByIdempotencyKey(input.teamId, key, db);
      if (existing) return { experiment: existing, created: false };
    }
    const id = input.id ?? newExperimentId();
    try {
      const experiment = await inTransaction(db, async (t) => {
        const created = await t.experiment.create({
          data: {
            id,
            teamId: input.teamId,
            ownerTokenId: input.ownerTokenId ?? null,
            name: input.name,
            specSubmitted: input.specSubmitted,
            specResolved: input.specResolved,
            idempotencyKey: key,
            cellCount: input.cells.length,
          },
        });
        await t.cell.createMany({
          data: input.cells.map((cell) => ({ ...cell, experimentId: id })),
        });
        return created;
      });
      return { experiment, created: true };
    } catch (error) {
      // Lost a race on the idempotency key: the winner's experiment is the answer. (Inside a
      // caller's transaction the insert ran in a savepoint, so the caller's is still usable.)
      if (key !== null && isUniqueViolation(error)) {
        const existing = await this.findByIdempotencyKey(input.teamId, key, db);
        if (existing) return { experiment: existing, created: false };
      }
      if (isUniqueViolation(error)) {
        throw new DbError('RDLAB_DB_CONFLICT', `experiment ${id} or one of its cells exists`, {
          cause: error,
        });
      }
      throw error;
    }
  }

  /** The team's experiment created with `idempotencyKey`, or null. */
  findByIdempotencyKey(
    teamId: string,
    idempotencyKey: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<Experiment | null> {
    return (tx ?? this.db).experiment.findUnique({
      where: { teamId_idempotencyKey: { teamId, idempotencyKey } },
    });
  }

  /** The experiment `id` if it belongs to `teamId`, else null (other teams' ids do not leak). */
  getExperiment(
    teamId: string,
    id: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<Experiment | null> {
    return (tx ?? this.db).experiment.findFirst({ where: { id, teamId } });
  }

  /** The experiment with its cells (by index), for workers and the scheduler; null if absent. */
  getExperimentWithCells(
    id: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<(Experiment & { cells: Cell[] }) | null> {
    return (tx ?? this.db).experiment.findUnique({
      where: { id },
      include: { cells: { orderBy: { index: 'asc' } } },
    });
  }

  /**
   * A team's experiments, newest first, `limit` per page (1–100, default 20). `cursor` is the
   * previous page's `nextCursor`.
   */
  async listExperiments(
    teamId: string,
    page: { limit?: number; cursor?: string | null; status?: ExperimentStatus } = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<ExperimentPage> {
    const limit = page.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new DbError(
        'RDLAB_DB_INVALID_OPTIONS',
        `limit must be an integer in 1..100, got ${limit}`,
      );
    }
    const rows = await (tx ?? this.db).experiment.findMany({
      where: { teamId, ...(page.status ? { status: page.status } : {}) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      ...(page.cursor ? { cursor: { id: page.cursor }, skip: 1 } : {}),
    });
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? (items.at(-1)?.id ?? null) : null };
  }

  /**
   * Sets an experiment's status: `running` stamps `startedAt` (once), a terminal status stamps
   * `finishedAt`. With `onlyFrom`, changes it only from one of those statuses and returns null
   * otherwise (a cancelled experiment stays cancelled). `RDLAB_DB_NOT_FOUND` if absent.
   */
  async updateExperimentStatus(
    id: string,
    status: ExperimentStatus,
    options: { error?: string | null; onlyFrom?: readonly ExperimentStatus[] } = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<Experiment | null> {
    const db = tx ?? this.db;
    const now = new Date();
    const data: Prisma.ExperimentUpdateManyMutationInput = { status };
    if (options.error !== undefined) data.error = options.error;
    if (TERMINAL_EXPERIMENT_STATUSES.includes(status)) data.finishedAt = now;
    const { count } = await db.experiment.updateMany({
      where: { id, ...(options.onlyFrom ? { status: { in: [...options.onlyFrom] } } : {}) },
      data,
    });
    if (count === 0) {
      if (options.onlyFrom && (await db.experiment.count({ where: { id } }))) return null;
      throw new DbError('RDLAB_DB_NOT_FOUND', `no experiment ${id}`);
    }
    if (status === 'running') {
      await db.experiment.updateMany({ where: { id, startedAt: null }, data: { startedAt: now } });
    }
    const experiment = await db.experiment.findUnique({ where: { id } });
    if (!experiment) throw new DbError('RDLAB_DB_NOT_FOUND', `no experiment ${id}`);
    return experiment;
  }
}
