/**
 * A worker's configuration, from the environment (the container's, the embedded stack's):
 *
 *   REDIS_URL          the queue (`redis://127.0.0.1:6379`)
 *   DATABASE_URL       Postgres: stage jobs, metric points, results
 *   RDLAB_STORE        the artifact store: a directory or `s3://bucket/prefix`
 *   RDLAB_BASE_DIR     where relative dataset and checkpoint paths of specs resolve (default: cwd)
 *   RDLAB_WORK_DIR     scratch space (default: <tmp>/rdlab-worker-<id>)
 *   RDLAB_WORKER_ID    a name for /v1/workers (default: <hostname>-<pid>)
 *   RDLAB_METRICS_PORT Prometheus /metrics of this worker; 0 picks a free port, unset: none
 */
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The abort reason of a worker shutting down: its job is released, not cancelled. */
export const SHUTDOWN_REASON = 'worker shutting down';

export interface WorkerConfig {
  redisUrl: string;
  databaseUrl: string;
  store: string;
  baseDir: string;
  workDir: string;
  workerId: string;
  metricsPort: number | null;
}

export class WorkerConfigError extends Error {
  readonly code = 'RDLAB_WORKER_CONFIG';
}

export function workerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const required = (name: string, what: string) => {
    const value = env[name];
    if (!value) throw new WorkerConfigError(`${name} is not set: ${what}`);
    return value;
  };
  const workerId = env.RDLAB_WORKER_ID ?? `${hostname()}-${process.pid}`;
  let metricsPort: number | null = null;
  if (env.RDLAB_METRICS_PORT !== undefined && env.RDLAB_METRICS_PORT !== '') {
    metricsPort = Number(env.RDLAB_METRICS_PORT);
    if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)
      throw new WorkerConfigError(
        `RDLAB_METRICS_PORT must be a port number in [0, 65535], got '${env.RDLAB_METRICS_PORT}'`,
      );
  }
  return {
    redisUrl: required('REDIS_URL', 'the Redis of the queue, e.g. redis://127.0.0.1:6379'),
    databaseUrl: required(
      'DATABASE_URL',
      'the Postgres URL, e.g. postgres://rdlab@127.0.0.1/rdlab',
    ),
    store: required('RDLAB_STORE', 'the artifact store: a directory or s3://bucket/prefix'),
    baseDir: resolve(env.RDLAB_BASE_DIR ?? process.cwd()),
    workDir: resolve(env.RDLAB_WORK_DIR ?? join(tmpdir(), `rdlab-worker-${workerId}`)),
    workerId,
    metricsPort,
  };
}

/** The environment that gives `config` back through {@link workerConfig}. */
export function configEnv(config: WorkerConfig): Record<string, string> {
  return {
    REDIS_URL: config.redisUrl,
    DATABASE_URL: config.databaseUrl,
    RDLAB_STORE: config.store,
    RDLAB_BASE_DIR: config.baseDir,
    RDLAB_WORK_DIR: config.workDir,
    RDLAB_WORKER_ID: config.workerId,
  };
}
