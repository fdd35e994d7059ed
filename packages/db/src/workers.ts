/** Workers: each process upserts its row every few seconds; stale rows are dead workers. */
import type { PrismaClientOrTransaction } from './client.js';
import type { Worker } from './generated/prisma/client.js';

export interface WorkerHeartbeat {
  id: string;
  /** Compute backend (`tfjs-wasm`, `native`, `cuda`, ...). */
  backend: string;
  hostname: string;
  /** The BullMQ job id it is running, or null when idle. */
  currentJob?: string | null;
}

export class WorkerRepository {
  constructor(private readonly db: PrismaClientOrTransaction) {}

  /** Records that a worker is alive (first beat: creates it, with `startedAt`). */
  heartbeat(beat: WorkerHeartbeat, tx?: PrismaClientOrTransaction): Promise<Worker> {
    const now = new Date();
    const { id, backend, hostname } = beat;
    const currentJob = beat.currentJob ?? null;
    return (tx ?? this.db).worker.upsert({
      where: { id },
      create: { id, backend, hostname, currentJob, startedAt: now, lastHeartbeatAt: now },
      update: { backend, hostname, currentJob, lastHeartbeatAt: now },
    });
  }

  /** Workers by id; with `aliveWithinMs`, only those that beat within that many ms. */
  listWorkers(
    options: { aliveWithinMs?: number } = {},
    tx?: PrismaClientOrTransaction,
  ): Promise<Worker[]> {
    const since =
      options.aliveWithinMs === undefined
        ? undefined
        : new Date(Date.now() - options.aliveWithinMs);
    return (tx ?? this.db).worker.findMany({
      where: since ? { lastHeartbeatAt: { gte: since } } : {},
      orderBy: { id: 'asc' },
    });
  }

  /** Removes a worker's row (a clean shutdown). Returns false when there was none. */
  async removeWorker(id: string, tx?: PrismaClientOrTransaction): Promise<boolean> {
    const { count } = await (tx ?? this.db).worker.deleteMany({ where: { id } });
    return count === 1;
  }
}
