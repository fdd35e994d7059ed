/**
 * `rdlab-scheduler`: the reconciler in a loop (see reconciler.ts), configured from the
 * environment: REDIS_URL, DATABASE_URL, RDLAB_STORE, RDLAB_SCHEDULER_INTERVAL_MS (default 1000),
 * RDLAB_MAX_IN_FLIGHT (jobs per experiment in the queue at once, default 4).
 * One scheduler at a time: a Postgres advisory lock elects it, so a second replica waits.
 */
import { createDb, type Db, Repositories } from '@rdlab/db';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { openStore } from '@rdlab/store';
import { createLogger, type Logger } from '@rdlab/telemetry';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Scheduler } from './reconciler.js';

export { Scheduler, type SchedulerOptions } from './reconciler.js';

/** The advisory-lock key of the scheduler (any constant shared by the replicas). */
export const LEADER_LOCK = 7_209_114;

export interface SchedulerConfig {
  redisUrl: string;
  databaseUrl: string;
  store: string;
  intervalMs?: number;
  maxInFlightPerExperiment?: number;
  /** @defaultValue a pino logger named scheduler on stdout */
  logger?: Logger;
}

export interface RunningScheduler {
  readonly scheduler: Scheduler;
  /** Runs one tick now (tests, and the API after a submission). */
  tick(): Promise<number>;
  close(): Promise<void>;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer, got '${value}'`);
  return n;
}

export function schedulerConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  return {
    redisUrl: need('REDIS_URL'),
    databaseUrl: need('DATABASE_URL'),
    store: need('RDLAB_STORE'),
    intervalMs: positive('RDLAB_SCHEDULER_INTERVAL_MS', env.RDLAB_SCHEDULER_INTERVAL_MS, 1000),
    maxInFlightPerExperiment: positive('RDLAB_MAX_IN_FLIGHT', env.RDLAB_MAX_IN_FLIGHT, 4),
  };
}

/**
 * Whether this process leads: its session holds the lock, or takes it now. Asked every tick,
 * not remembered: the lock lives as long as the Postgres session, and a server restart (or a
 * dropped connection) ends the session and frees it for another replica. The CASE checks before
 * it locks, so a held lock is not taken twice (advisory locks stack per session).
 */
async function leader(db: Db): Promise<boolean> {
  const rows = await db.$queryRawUnsafe<Array<{ locked: boolean }>>(
    `SELECT CASE WHEN EXISTS (
        SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 0
           AND objid = ${LEADER_LOCK} AND objsubid = 1 AND pid = pg_backend_pid() AND granted)
      THEN true ELSE pg_try_advisory_lock(${LEADER_LOCK}) END AS locked`,
  );
  return rows[0]?.locked === true;
}

export async function startScheduler(config: SchedulerConfig): Promise<RunningScheduler> {
  const log = config.logger ?? createLogger({ name: 'scheduler' });
  // One connection, so the session-level advisory lock stays with this process.
  const db = createDb(config.databaseUrl, { maxConnections: 1 });
  // Our own client, disconnected on close: BullMQ's own one, closed while Redis is away, would
  // keep reconnecting forever.
  const queueRedis = new Redis({
    ...redisConnection(config.redisUrl, { role: 'producer' }),
    connectionName: 'rdlab-scheduler',
  });
  queueRedis.on('error', () => {}); // reconnects by itself; ticks log the outage
  const queue = new Queue(QUEUES.stages, { connection: queueRedis });
  const scheduler = new Scheduler(db, new Repositories(db), await openStore(config.store), queue, {
    maxInFlightPerExperiment: config.maxInFlightPerExperiment ?? 4,
    log: (line) => log.info(line),
  });
  let lastWarning = 0;
  let running: Promise<number> | null = null;
  const tick = async () => {
    if (running) return running;
    running = (async () => {
      try {
        return (await leader(db)) ? await scheduler.tick() : 0;
      } catch (error) {
        // Redis or Postgres away for a while: try again next tick, warn every 10 s at most.
        if (Date.now() - lastWarning > 10_000) {
          lastWarning = Date.now();
          log.warn({ err: error }, 'tick failed; retrying every tick');
        }
        return 0;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void tick(), config.intervalMs ?? 1000);
  // A finished job usually unblocks the next stage: look at once rather than at the next tick.
  const events = new QueueEvents(QUEUES.stages, {
    connection: redisConnection(config.redisUrl, { role: 'worker' }),
  });
  events.on('error', () => {}); // reconnects by itself; ticks log the outage
  let soon: NodeJS.Timeout | null = null;
  const tickSoon = () => {
    soon ??= setTimeout(() => {
      soon = null;
      void tick();
    }, 20);
  };
  events.on('completed', tickSoon);
  events.on('failed', tickSoon);
  return {
    scheduler,
    tick,
    async close() {
      clearInterval(timer);
      if (soon) clearTimeout(soon);
      await events.close().catch(() => {});
      await running;
      await queue.close().catch(() => {});
      queueRedis.disconnect();
      await db.$disconnect();
    },
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const running = await startScheduler(schedulerConfig());
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, () => void running.close().then(() => process.exit(0)));
}
