/** Cells: the (dataset, attribute, target, dropout, seed) runs of an experiment. */
import type { PrismaClientOrTransaction } from './client.js';
import { DbError } from './errors.js';
import type { Cell, CellStatus } from './generated/prisma/client.js';

export interface CellUpdate {
  status?: CellStatus;
  /** Epochs finished so far (the resume point). */
  epochsDone?: number;
}

export class CellRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /** An experiment's cells by index. */
  listCells(experimentId: string, tx?: PrismaClientOrTransaction): Promise<Cell[]> {
    return (tx ?? this.db).cell.findMany({ where: { experimentId }, orderBy: { index: 'asc' } });
  }

  /** One cell, or null. */
  getCell(experimentId: string, cellId: string, tx?: PrismaClientOrTransaction) {
    return (tx ?? this.db).cell.findUnique({
      where: { experimentId_id: { experimentId, id: cellId } },
    });
  }

  /** Updates a cell's status and/or progress; `RDLAB_DB_NOT_FOUND` when it does not exist. */
  async updateCell(
    experimentId: string,
    cellId: string,
    update: CellUpdate,
    tx?: PrismaClientOrTransaction,
  ): Promise<Cell> {
    const db = tx ?? this.db;
    const { count } = await db.cell.updateMany({
      where: { experimentId, id: cellId },
      data: update,
    });
    const cell = count ? await this.getCell(experimentId, cellId, db) : null;
    if (!cell) throw new DbError('RDLAB_DB_NOT_FOUND', `no cell ${cellId} in ${experimentId}`);
    return cell;
  }

  /** Number of cells per status, every status present (0 when none). */
  async countCellsByStatus(
    experimentId: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<Record<CellStatus, number>> {
    const groups = await (tx ?? this.db).cell.groupBy({
      by: ['status'],
      where: { experimentId },
      _count: { _all: true },
    });
    const counts: Record<CellStatus, number> = {
      pending: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const g of groups) counts[g.status] = g._count._all;
    return counts;
  }
}
