/**
 * Container entry of the scheduler (image `scheduler`):
 *
 *   node --conditions=source --import tsx docker/scheduler.ts
 *
 * It is apps/scheduler's `startScheduler`, configured from the same environment
 * (REDIS_URL, DATABASE_URL, RDLAB_STORE, RDLAB_SCHEDULER_INTERVAL_MS, RDLAB_MAX_IN_FLIGHT), plus
 * `GET /healthz` and `GET /metrics` on `RDLAB_METRICS_HOST:RDLAB_METRICS_PORT` (default
 * 0.0.0.0:9464), which apps/scheduler does not serve:
 *
 * - /metrics: the process and Node.js metrics, and `rdlab_queue_depth{queue,state}` read from
 *   Redis at every scrape. The API sets the same gauge only when `GET /v1/queue` is called (KEDA
 *   does), so the scheduler's is the one the fleet dashboard reads (`component="scheduler"`).
 *   While Redis does not answer the gauge is left out rather than stale.
 * - /healthz: 200 while the event loop answers. Every replica answers: one holds the leader lock
 *   and ticks, the others wait for it.
 */
import { QUEUES, queueDepth, redisConnection } from '@rdlab/jobs';
import { schedulerConfig, startScheduler } from '@rdlab/scheduler';
import {
  createMetrics,
  METRICS_CONTENT_TYPE,
  metricsText,
  recordQueueDepth,
} from '@rdlab/telemetry';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { metricsPortFromEnv, startProbeServer } from './probe-server.js';

/** The container's environment (compose, the chart). */
const env = process.env;

/** How long a scrape waits for Redis's job counts. */
const DEPTH_TIMEOUT_MS = 2000;

const config = schedulerConfig(env);
const port = metricsPortFromEnv(env, 9464);
const running = await startScheduler(config);

const metrics = createMetrics(undefined, { defaultMetrics: true });
const redis = new Redis({
  ...redisConnection(config.redisUrl, { role: 'producer' }),
  connectionName: 'rdlab-scheduler-metrics',
});
redis.on('error', () => {}); // reconnects by itself; a scrape meanwhile leaves the gauge out
const queue = new Queue(QUEUES.stages, { connection: redis });

async function refreshQueueDepth(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const counts = await Promise.race([
      queueDepth([queue]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('Redis did not answer')), DEPTH_TIMEOUT_MS);
      }),
    ]);
    metrics.queueDepth.reset();
    recordQueueDepth(
      metrics,
      Object.fromEntries(Object.entries(counts).map(([name, depth]) => [name, { ...depth }])),
    );
  } catch {
    metrics.queueDepth.reset();
  } finally {
    clearTimeout(timer);
  }
}

const probe = await startProbeServer({
  port,
  host: env.RDLAB_METRICS_HOST || '0.0.0.0',
  health: () => ({ component: 'scheduler' }),
  metrics: async () => {
    await refreshQueueDepth();
    return { contentType: METRICS_CONTENT_TYPE, body: await metricsText(metrics.registry) };
  },
});
console.log(JSON.stringify({ msg: 'scheduler probes listening', port: probe.port }));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void (async () => {
      await running.close();
      await queue.close().catch(() => {});
      redis.disconnect();
      await probe.close();
    })().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
