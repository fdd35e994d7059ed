/** Evaluation results and generated examples of a cell, per epoch (0 = before training). */
import { inTransaction, type PrismaClientOrTransaction } from './client.js';
import type { EvalResult, GeneratedExample, Prisma } from './generated/prisma/client.js';

export interface EvalResultInput {
  experimentId: string;
  cellId: string;
  /** Epochs trained when evaluated; 0 = the start point. */
  epoch: number;
  /** Every metric of the evaluation, namespaced (`eval/acc`, ...). */
  metrics: Prisma.InputJsonValue;
  /** Typed copies of the headline metrics, for SQL. */
  acc?: number | null;
  reward?: number | null;
}

export interface ExampleInput {
  prefix: string;
  text: string;
  reward?: number | null;
  acc?: number | null;
}

export class ResultRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /** Writes a cell's evaluation at `epoch`, replacing an earlier one (a retried evaluation). */
  upsertEvalResult(input: EvalResultInput, tx?: PrismaClientOrTransaction): Promise<EvalResult> {
    const { experimentId, cellId, epoch } = input;
    const values = { metrics: input.metrics, acc: input.acc ?? null, reward: input.reward ?? null };
    return (tx ?? this.db).evalResult.upsert({
      where: { experimentId_cellId_epoch: { experimentId, cellId, epoch } },
      create: { experimentId, cellId, epoch, ...values },
      update: values,
    });
  }

  /** An experiment's evaluations (of one cell, when given) by cell and epoch. */
  listEvalResults(
    experimentId: string,
    cellId?: string,
    tx?: PrismaClientOrTransaction,
  ): Promise<EvalResult[]> {
    return (tx ?? this.db).evalResult.findMany({
      where: { experimentId, ...(cellId ? { cellId } : {}) },
      orderBy: [{ cellId: 'asc' }, { epoch: 'asc' }],
    });
  }

  /**
   * Replaces a cell's generated examples at `epoch` with `examples`, atomically (a retried
   * evaluation leaves one set, not two). Returns how many were written.
   */
  replaceExamples(
    experimentId: string,
    cellId: string,
    epoch: number,
    examples: readonly ExampleInput[],
    tx?: PrismaClientOrTransaction,
  ): Promise<number> {
    return inTransaction(tx ?? this.db, async (t) => {
      await t.generatedExample.deleteMany({ where: { experimentId, cellId, epoch } });
      const { count } = await t.generatedExample.createMany({
        data: examples.map((e) => ({
          experimentId,
          cellId,
          epoch,
          prefix: e.prefix,
          text: e.text,
          reward: e.reward ?? null,
          acc: e.acc ?? null,
        })),
      });
      return count;
    });
  }

  /** A cell's examples (at one epoch, when given), in the order they were written. */
  listExamples(
    experimentId: string,
    cellId: string,
    epoch?: number,
    tx?: PrismaClientOrTransaction,
  ): Promise<GeneratedExample[]> {
    return (tx ?? this.db).generatedExample.findMany({
      where: { experimentId, cellId, ...(epoch === undefined ? {} : { epoch }) },
      orderBy: [{ epoch: 'asc' }, { id: 'asc' }],
    });
  }
}
