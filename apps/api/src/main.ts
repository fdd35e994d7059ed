/**
 * `rdlab-api`: the HTTP API, configured from the environment:
 *
 *   REDIS_URL          the queue and the cancel channel (`redis://127.0.0.1:6379`)
 *   DATABASE_URL       Postgres (`postgresql://rdlab:rdlab@127.0.0.1:5432/rdlab`)
 *   RDLAB_STORE        the artifact store: a directory or `s3://bucket/prefix`
 *   RDLAB_API_PORT     port to listen on (default 8080; 0 picks a free one)
 *   RDLAB_API_HOST     address to listen on (default 127.0.0.1; 0.0.0.0 in a container)
 *   RDLAB_LOG_LEVEL    pino level (default info)
 *
 * ```ts
 * import { apiConfig, startApi } from '@rdlab/api';
 *
 * const api = await startApi(apiConfig(process.env));
 * console.log(`listening on ${api.url}`);
 * await api.close(); // stops accepting, ends event streams, closes queue, Redis and Postgres
 * ```
 *
 * Run as a program (`node --conditions=source --import tsx apps/api/src/main.ts`), SIGTERM or
 * SIGINT closes it gracefully: in-flight requests finish, new ones get 503.
 */
import { pathToFileURL } from 'node:url';
import { createDb, Repositories } from '@rdlab/db';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { openStore } from '@rdlab/store';
import { createLogger, type Logger, type LoggerOptions } from '@rdlab/telemetry';
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from './app.js';
import { ApiConfigError } from './errors.js';
import type { ApiOptionsInput } from './options.js';

export { buildApi } from './app.js';
export type { ApiDeps } from './deps.js';
export {
  API_CONFIG_ERROR_CODE,
  API_ERROR_CODES,
  ApiConfigError,
  type ApiErrorCode,
  statusOf,
} from './errors.js';
export type { ApiOptions, ApiOptionsInput } from './options.js';
export type { ExperimentProgress } from './progress.js';

export interface ApiConfig {
  redisUrl: string;
  databaseUrl: string;
  /** A directory or `s3://bucket/prefix`. */
  store: string;
  /** @defaultValue 8080 */
  port?: number;
  /** @defaultValue '127.0.0.1' */
  host?: string;
  /** pino level of the default logger. @defaultValue 'info' */
  logLevel?: LoggerOptions['level'];
  /** Fastify's logger; @defaultValue a pino logger named rdlab-api at `logLevel` */
  logger?: Logger;
  options?: ApiOptionsInput;
}

export interface RunningApi {
  app: FastifyInstance;
  /** `http://host:port` it listens on. */
  url: string;
  /** Graceful: stops listening, ends event streams, then closes queue, Redis and Postgres. */
  close(): Promise<void>;
}

/** Reads the configuration from the environment; throws RDLAB_API_CONFIG_INVALID naming what. */
export function apiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const required = (name: string, example: string) => {
    const value = env[name];
    if (!value) throw new ApiConfigError(`${name} is not set: ${example}`);
    return value;
  };
  const portText = env.RDLAB_API_PORT;
  let port = 8080;
  if (portText !== undefined && portText !== '') {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535)
      throw new ApiConfigError(`RDLAB_API_PORT must be a port in [0, 65535], got '${portText}'`);
  }
  return {
    redisUrl: required('REDIS_URL', 'the Redis of the queue, e.g. redis://127.0.0.1:6379'),
    databaseUrl: required(
      'DATABASE_URL',
      'the Postgres URL, e.g. postgresql://rdlab@127.0.0.1/rdlab',
    ),
    store: required('RDLAB_STORE', 'the artifact store: a directory or s3://bucket/prefix'),
    port,
    host: env.RDLAB_API_HOST || '127.0.0.1',
    // createLogger rejects an unknown level, naming the valid ones.
    logLevel: (env.RDLAB_LOG_LEVEL || 'info') as LoggerOptions['level'],
  };
}

/** Opens Postgres, Redis, the queue and the store, builds the API and listens. */
export async function startApi(config: ApiConfig): Promise<RunningApi> {
  const logger =
    config.logger ??
    createLogger({
      name: 'rdlab-api',
      level: config.logLevel ?? 'info',
    });
  const store = await openStore(config.store);
  const db = createDb(config.databaseUrl, {
    onPoolError: (error) => logger.warn({ err: error }, 'idle Postgres connection failed'),
  });
  const connection = redisConnection(config.redisUrl, { role: 'producer' });
  const redis = new Redis({ ...connection, connectionName: 'rdlab-api' });
  // The queue gets a client of ours, not options: BullMQ's close() quits a client it made, and a
  // quit refused while Redis is down leaves that client reconnecting forever; ours we disconnect.
  const queueRedis = new Redis({ ...connection, connectionName: 'rdlab-api-queue' });
  const queue = new Queue(QUEUES.stages, { connection: queueRedis });
  let app: FastifyInstance;
  try {
    app = buildApi({
      db,
      repos: new Repositories(db),
      queue,
      redis,
      store,
      logger,
      ...(config.options ? { options: config.options } : {}),
    });
  } catch (error) {
    await closeBackends();
    throw error;
  }
  // Only what this function opened is closed with the app.
  app.addHook('onClose', closeBackends);
  async function closeBackends() {
    await queue.close().catch(() => {});
    queueRedis.disconnect();
    redis.disconnect();
    await db.$disconnect();
  }

  // Redis answering before the first request saves a round of 503s; start anyway if it does not.
  await Promise.race([
    new Promise((ready) => redis.once('ready', ready)),
    new Promise((later) => setTimeout(later, 5000).unref()),
  ]);
  let url: string;
  try {
    url = await app.listen({ port: config.port ?? 8080, host: config.host ?? '127.0.0.1' });
  } catch (error) {
    await app.close(); // closes the backends too
    throw error;
  }
  logger.info({ url }, 'rdlab-api listening');
  return { app, url, close: () => app.close() };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const api = await startApi(apiConfig());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      api.app.log.info({ signal }, 'closing');
      void api.close().then(
        () => process.exit(0),
        (error) => {
          api.app.log.error({ err: error }, 'close failed');
          process.exit(1);
        },
      );
    });
  }
}
