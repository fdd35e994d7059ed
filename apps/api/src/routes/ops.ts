/**
 * Operations: the queue and the workers (authenticated, under /v1), and the open probes and
 * metrics: /healthz (the process serves), /readyz (Postgres and Redis answer), /metrics.
 */
import { queueDepth } from '@rdlab/jobs';
import { METRICS_CONTENT_TYPE, metricsText, recordQueueDepth } from '@rdlab/telemetry';
import type { FastifyInstance } from 'fastify';
import { SECURITY } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { apiError, errorResponses, UNAVAILABLE_RETRY_AFTER_S } from '../errors.js';
import { workerView } from '../views.js';

/** How long /readyz waits for each of Postgres and Redis. */
const READY_TIMEOUT_MS = 2000;

const depthSchema = {
  type: 'object',
  properties: Object.fromEntries(
    ['waiting', 'prioritized', 'delayed', 'active', 'failed', 'completed', 'depth'].map((k) => [
      k,
      { type: 'integer' },
    ]),
  ),
};

/** /v1/queue and /v1/workers. */
export function opsRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    '/queue',
    {
      schema: {
        summary: 'Job counts per queue',
        description:
          '`depth` = waiting + prioritized + delayed: the work not started yet, for autoscalers (KEDA metrics-api: `valueLocation: rdlab-stages.depth`). Also updates the rdlab_queue_depth gauges.',
        tags: ['operations'],
        security: SECURITY,
        response: {
          200: { type: 'object', additionalProperties: depthSchema },
          ...errorResponses,
        },
      },
    },
    async () => {
      const counts = await queueDepth([deps.queue]);
      recordQueueDepth(
        deps.metrics,
        Object.fromEntries(Object.entries(counts).map(([queue, depth]) => [queue, { ...depth }])),
      );
      return counts;
    },
  );

  app.get(
    '/workers',
    {
      schema: {
        summary: 'Workers and their heartbeats',
        tags: ['operations'],
        security: SECURITY,
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: { items: { type: 'array', items: { $ref: 'Worker#' } } },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const workers = await deps.repos.workers.listWorkers();
      const now = Date.now();
      return { items: workers.map((w) => workerView(w, now)) };
    },
  );
}

/** /healthz, /readyz, /metrics: open, outside /v1. */
export function probeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        summary: 'Liveness: 200 while the process serves',
        tags: ['probes'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } } },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: Postgres and Redis answer',
        description: '503 RDLAB_UNAVAILABLE (Retry-After: 5) naming the one that failed.',
        tags: ['probes'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              checks: {
                type: 'object',
                properties: { postgres: { type: 'string' }, redis: { type: 'string' } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const [postgres, redis] = await Promise.all([
        check(() => deps.db.$queryRawUnsafe('SELECT 1')),
        check(() => deps.redis.ping()),
      ]);
      const checks = { postgres, redis };
      const failed = Object.entries(checks)
        .filter(([, result]) => result !== 'ok')
        .map(([name]) => name);
      if (failed.length > 0) {
        request.log.warn({ checks }, 'not ready');
        throw apiError(
          'RDLAB_UNAVAILABLE',
          `not ready: ${failed.join(' and ')} did not answer`,
          { checks },
          { retryAfterS: UNAVAILABLE_RETRY_AFTER_S },
        );
      }
      return { status: 'ready', checks };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics (text format 0.0.4)',
        tags: ['probes'],
        produces: ['text/plain'],
        response: { 200: { type: 'string' } },
      },
    },
    async (_request, reply) => {
      const text = await metricsText(deps.metrics.registry);
      return reply
        .type(METRICS_CONTENT_TYPE)
        .serializer((payload: unknown) => payload as string)
        .send(text);
    },
  );
}

/** 'ok', or 'failed: <reason>' (the reason without URLs: a message of the driver's). */
async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timed out')), READY_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return `failed: ${reasonOf(error)
      .replace(/\w+:\/\/\S+/g, '<url>')
      .slice(0, 200)}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The last line of the first non-empty message down the cause chain (Prisma puts the driver's
 * reason last), else a code or name.
 */
function reasonOf(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e; depth++) {
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && message.trim())
      return message.trim().split('\n').at(-1)?.trim() ?? '';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return (error as { name?: string } | null)?.name ?? 'no answer';
}
