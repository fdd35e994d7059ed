/**
 * @rdlab/telemetry: the Prometheus instruments (prom-client) and the pino logger shared by the
 * API, the scheduler and the workers.
 *
 * ```ts
 * import { createLogger, createMetrics, METRICS_CONTENT_TYPE, metricsText } from '@rdlab/telemetry';
 *
 * const log = createLogger({ name: 'rdlab-worker', level: 'info' });
 * const metrics = createMetrics(undefined, { defaultMetrics: true });
 * const end = metrics.jobDurationSeconds.startTimer({ stage: 'train' });
 * metrics.samplesTotal.inc({ stage: 'train' }, 64);
 * end();
 * log.info({ cellId: 'c0123', token: 'never written' }, 'epoch done'); // token → "[redacted]"
 * const body = await metricsText(metrics.registry); // serve with METRICS_CONTENT_TYPE
 * ```
 *
 * Internal (not exported): `rejectUnknownOptions` (errors.ts), the censoring walk (logger.ts).
 */
export {
  TELEMETRY_ERROR_CODES,
  type TelemetryErrorCode,
  TelemetryOptionsError,
} from './errors.js';
export {
  createLogger,
  isSecretField,
  type Logger,
  type LoggerOptions,
  REDACTED,
} from './logger.js';
export {
  type Backend,
  createMetrics,
  HTTP_DURATION_BUCKETS_SECONDS,
  JOB_DURATION_BUCKETS_SECONDS,
  METRIC_LABELS,
  METRICS_CONTENT_TYPE,
  type MetricsOptions,
  metricsText,
  type RdlabMetrics,
  recordQueueDepth,
  type Stage,
} from './metrics.js';
