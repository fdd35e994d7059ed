/**
 * Redis connection settings for BullMQ, and queue depth for `GET /v1/queue` and autoscalers.
 *
 * `redisConnection` returns ioredis options, not a client: BullMQ builds (and closes) its own
 * clients from them, duplicating for workers' blocking connections as it needs.
 */
import type { JobType, RedisOptions } from 'bullmq';
import { RedisUrlError } from './errors.js';

/**
 * `worker`: commands wait through a Redis outage (`maxRetriesPerRequest: null`, which BullMQ
 * requires for workers' blocking connections). `producer`: the API and the scheduler fail fast
 * while Redis is down (`enableOfflineQueue: false`), so a request answers 503 instead of hanging.
 */
export type RedisRole = 'worker' | 'producer';

export interface RedisConnectionOptions {
  /**
   * Who connects; see {@link RedisRole}.
   * @defaultValue 'worker'
   */
  role?: RedisRole;
  /** Shown by `CLIENT LIST`, e.g. `rdlab-worker-gpu0`. */
  connectionName?: string;
}

/**
 * ioredis options for `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS), for the
 * `connection` option of BullMQ's Queue, Worker, FlowProducer and QueueEvents. Throws
 * `RDLAB_REDIS_URL_INVALID` for other URLs.
 */
export function redisConnection(url: string, options: RedisConnectionOptions = {}): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(`'${redact(url)}' is not a URL: expected redis://host:port[/db]`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisUrlError(
      `'${redact(url)}' is not a Redis URL: expected redis:// or rediss:// (TLS)`,
    );
  }
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new RedisUrlError(`'${redact(url)}': the database '${dbText}' is not an integer ≥ 0`);
  }
  const role = options.role ?? 'worker';
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: { servername: parsed.hostname } } : {}),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(role === 'worker'
      ? { maxRetriesPerRequest: null, enableOfflineQueue: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  };
}

/** Job counts of one queue. `depth` = waiting + prioritized + delayed: the work not yet started. */
export interface QueueDepth {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
  failed: number;
  completed: number;
  /**
   * Flow parents waiting for their children. rdlab adds no flows (the scheduler adds each
   * stage's jobs itself), so this stays 0; kept so that a stray flow shows. Not part of `depth`.
   */
  waitingChildren: number;
  depth: number;
}

/** What {@link queueDepth} needs of a queue: a BullMQ `Queue` has it. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...types: JobType[]): Promise<Record<string, number>>;
}

/**
 * Per-queue counts, keyed by queue name, from BullMQ's `getJobCounts` (one round trip each,
 * queues counted in parallel). KEDA's metrics-api scaler can read `<queue>.depth` from it.
 */
export async function queueDepth(
  queues: readonly CountableQueue[],
): Promise<Record<string, QueueDepth>> {
  const entries = await Promise.all(
    queues.map(async (queue) => {
      const c = await queue.getJobCounts(
        'waiting',
        'prioritized',
        'delayed',
        'active',
        'failed',
        'completed',
        'waiting-children',
      );
      const count = (state: string) => c[state] ?? 0;
      const depth: QueueDepth = {
        waiting: count('waiting'),
        prioritized: count('prioritized'),
        delayed: count('delayed'),
        active: count('active'),
        failed: count('failed'),
        completed: count('completed'),
        waitingChildren: count('waiting-children'),
        depth: count('waiting') + count('prioritized') + count('delayed'),
      };
      return [queue.name, depth] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** The URL without its password, for error messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
