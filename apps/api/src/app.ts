/**
 * The HTTP API as a Fastify instance, built from its dependencies and not listening: main.ts
 * listens, tests call `app.inject`.
 *
 * ```
 * /healthz /readyz /metrics /docs /docs/json          open
 * / and client-side routes (text/html)                the web dashboard, when built (web.ts)
 * /v1/…                                               bearer token → under-pressure → rate limit
 * ```
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import underPressure from '@fastify/under-pressure';
import { createMetrics } from '@rdlab/telemetry';
import Fastify, { type FastifyInstance, type FastifySchema } from 'fastify';
import { rateLimitKey, requireBearerToken } from './auth.js';
import { installBodyParsers } from './body.js';
import type { ApiDeps, RouteDeps } from './deps.js';
import { apiError, installErrorHandling, sendApiError, toApiError } from './errors.js';
import { resolveOptions } from './options.js';
import { cellRoutes } from './routes/cells.js';
import { experimentRoutes, SPEC_CONTENT_TYPES } from './routes/experiments.js';
import { opsRoutes, probeRoutes } from './routes/ops.js';
import { resultRoutes } from './routes/results.js';
import { EventStreams } from './streams.js';
import { addViewSchemas } from './views.js';
import { webRoutes } from './web.js';

export type { ApiDeps } from './deps.js';
export type { ApiOptions, ApiOptionsInput } from './options.js';

/** Seconds an overloaded API asks clients to wait. */
const OVERLOADED_RETRY_AFTER_S = 10;
/** Redis connection errors are logged at most this often (ioredis reports every reconnect). */
const BACKEND_ERROR_LOG_INTERVAL_MS = 10_000;

export function buildApi(deps: ApiDeps): FastifyInstance {
  const options = resolveOptions(deps.options);
  const metrics = deps.metrics ?? createMetrics(undefined, { defaultMetrics: true });
  const routeDeps: RouteDeps = {
    db: deps.db,
    repos: deps.repos,
    queue: deps.queue,
    redis: deps.redis,
    store: deps.store,
    options,
    metrics,
    streams: new EventStreams(),
  };

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes,
    // Unknown query parameters are an error naming the parameter, not silently dropped.
    ajv: { customOptions: { removeAdditional: false } },
    // Errors the router raises before any hook (a URL that does not decode: `/v1/x/%`) get
    // the error shape too, not Fastify's default body.
    frameworkErrors: (error, _request, reply) => sendApiError(reply, toApiError(error)),
  }) as unknown as FastifyInstance;

  installErrorHandling(app);
  installBodyParsers(app);
  addViewSchemas(app);
  watchBackendErrors(app, deps);

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDurationSeconds.observe(
      {
        method: request.method,
        // The route template, never the URL: ids would make the label set unbounded.
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.addHook('preClose', async () => routeDeps.streams.closeAll());

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'rdlab API',
        version: '0.1.0',
        description:
          'Reward-dropout RLHF sweeps as a service: submit a sweep spec, follow its progress, read its results. Every /v1 route needs `Authorization: Bearer <token>`; errors are `{"error": {"code", "message", "details"}}`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
      tags: [
        { name: 'experiments' },
        { name: 'cells' },
        { name: 'results' },
        { name: 'operations' },
        { name: 'probes' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
    transform: ({ schema, url, route }) => {
      // The spec body is parsed by hand (JSON or YAML), so it is documented, not validated.
      if (url === '/v1/experiments' && route.method === 'POST') {
        return {
          url,
          schema: {
            ...schema,
            consumes: SPEC_CONTENT_TYPES,
            body: {
              type: 'object',
              description:
                'A sweep spec (see examples/*.yaml and @rdlab/core sweepSpecSchema): name, datasets, behavior, rewardModel, targets, dropout, training, bootstrap, evaluation, seeds, limits',
              required: ['name', 'datasets'],
              additionalProperties: true,
            },
          } as FastifySchema,
        };
      }
      return { schema, url };
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });

  app.register(async (open) => probeRoutes(open, routeDeps));
  app.register(async (web) => webRoutes(web, options.webRoot));
  app.register(
    async (v1) => {
      if (options.maxEventLoopDelayMs > 0) {
        await v1.register(underPressure, {
          maxEventLoopDelay: options.maxEventLoopDelayMs,
          pressureHandler: (_request, reply, type, value) => {
            reply.header('retry-after', String(OVERLOADED_RETRY_AFTER_S));
            return Promise.reject(
              apiError(
                'RDLAB_OVERLOADED',
                'the API is overloaded: retry shortly',
                { reason: type, value: value ?? null },
                { retryAfterS: OVERLOADED_RETRY_AFTER_S },
              ),
            );
          },
        });
      }
      requireBearerToken(v1, routeDeps);
      await v1.register(rateLimit, {
        max: options.rateLimit.max,
        timeWindow: options.rateLimit.timeWindowMs,
        keyGenerator: rateLimitKey,
        errorResponseBuilder: (_request, context) => {
          const retryAfterS = Math.max(1, Math.ceil(context.ttl / 1000));
          return apiError(
            'RDLAB_RATE_LIMITED',
            `rate limit of ${context.max} requests per ${options.rateLimit.timeWindowMs / 1000} s for this token exceeded: retry in ${context.after}`,
            { limit: context.max, retryAfterS },
            { retryAfterS },
          );
        },
      });
      experimentRoutes(v1, routeDeps);
      resultRoutes(v1, routeDeps);
      cellRoutes(v1, routeDeps);
      opsRoutes(v1, routeDeps);
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * BullMQ's Queue re-emits its Redis client's errors, and an EventEmitter without an 'error'
 * listener throws: while Redis is down, log them (throttled) instead. Requests meanwhile answer
 * 503 RDLAB_UNAVAILABLE.
 */
function watchBackendErrors(app: FastifyInstance, deps: ApiDeps): void {
  let lastLoggedAt = 0;
  const onError = (error: Error) => {
    const now = Date.now();
    if (now - lastLoggedAt < BACKEND_ERROR_LOG_INTERVAL_MS) return;
    lastLoggedAt = now;
    app.log.warn({ err: error }, 'redis connection error');
  };
  deps.queue.on('error', onError);
  deps.redis.on('error', onError);
  app.addHook('onClose', async () => {
    deps.queue.off('error', onError);
    deps.redis.off('error', onError);
  });
}
