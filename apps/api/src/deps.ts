/** What the API is built on. `buildApi` uses these and closes none of them (main.ts does). */
import type { Db, Repositories } from '@rdlab/db';
import type { ArtifactStore } from '@rdlab/store';
import type { Logger, RdlabMetrics } from '@rdlab/telemetry';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ApiOptions, ApiOptionsInput } from './options.js';
import type { EventStreams } from './streams.js';

export interface ApiDeps {
  /** Postgres: `SELECT 1` for /readyz and the queries the repositories do not cover. */
  db: Db;
  repos: Repositories;
  /** The BullMQ queue of stage jobs (`QUEUES.stages`): depth and removal on cancel. */
  queue: Queue;
  /** Publishes cancellations on `CANCEL_CHANNEL`; PING for /readyz. */
  redis: Redis;
  /** Where the report job wrote `experiments/<id>/results.json`, `.csv` and `report.html`. */
  store: ArtifactStore;
  /** Fastify's logger instance. @defaultValue no logging */
  logger?: Logger;
  /** The Prometheus instruments. @defaultValue a fresh registry with the default metrics */
  metrics?: RdlabMetrics;
  options?: ApiOptionsInput;
}

/** What route modules receive: the deps with options resolved and metrics created. */
export interface RouteDeps extends Omit<ApiDeps, 'options' | 'metrics' | 'logger'> {
  options: ApiOptions;
  metrics: RdlabMetrics;
  /** Open event streams, ended when the app closes. */
  streams: EventStreams;
}
