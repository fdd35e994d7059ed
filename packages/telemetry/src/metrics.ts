/**
 * The Prometheus instruments of rdlab, all in one registry. Names carry the `rdlab_` prefix and
 * their unit (`_seconds`, `_total`); labels are few and bounded: a stage, a backend, a queue
 * and job state, an HTTP method, route template and status. Never an experiment, cell, job or
 * user id: those are unbounded and belong in Postgres (metric points) and in logs.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { rejectUnknownOptions } from './errors.js';

/**
 * Pipeline stages (`stage` label): the values of `@rdlab/jobs`' `Stage`, a copy kept the same
 * (a test in @rdlab/jobs compares the two). All stages share one queue (`rdlab-stages`), so
 * this label, not `queue`, tells them apart.
 */
export type Stage = 'prepare' | 'bootstrap' | 'train' | 'publish' | 'report';

/** Compute backends (`backend` label): the values of `RDLAB_BACKEND`. */
export type Backend = 'cuda' | 'tensorflow-gpu' | 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** Label names of each rdlab metric: the whole, bounded, set. */
export const METRIC_LABELS = {
  rdlab_job_duration_seconds: ['stage'],
  rdlab_samples_total: ['stage'],
  rdlab_tokens_total: ['stage', 'backend'],
  rdlab_queue_depth: ['queue', 'state'],
  rdlab_job_failures_total: ['stage'],
  rdlab_job_retries_total: ['stage'],
  rdlab_workers_active: ['backend'],
  rdlab_http_request_duration_seconds: ['method', 'route', 'status_code'],
  rdlab_metric_points_pending: [],
} as const;

/** From a 0.1 s report to a 4 h training epoch. */
export const JOB_DURATION_BUCKETS_SECONDS = [
  0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400,
];

export const HTTP_DURATION_BUCKETS_SECONDS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The Content-Type of {@link metricsText}: Prometheus text format 0.0.4. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

type Labels<N extends keyof typeof METRIC_LABELS> = (typeof METRIC_LABELS)[N][number];

export interface RdlabMetrics {
  readonly registry: Registry;
  /** Wall time of one job attempt, by stage. */
  readonly jobDurationSeconds: Histogram<Labels<'rdlab_job_duration_seconds'>>;
  /** Behaviour samples: drawn from β (`stage="bootstrap"`), trained on (`stage="train"`). */
  readonly samplesTotal: Counter<Labels<'rdlab_samples_total'>>;
  /** Tokens generated or trained on, by stage and compute backend. */
  readonly tokensTotal: Counter<Labels<'rdlab_tokens_total'>>;
  /** Jobs per queue and state (`waiting`, `prioritized`, `delayed`, `active`, …). */
  readonly queueDepth: Gauge<Labels<'rdlab_queue_depth'>>;
  /** Jobs that failed for good (all attempts used). */
  readonly jobFailuresTotal: Counter<Labels<'rdlab_job_failures_total'>>;
  /** Failed attempts that BullMQ will retry. */
  readonly jobRetriesTotal: Counter<Labels<'rdlab_job_retries_total'>>;
  /** Workers processing a job now, by backend. */
  readonly workersActive: Gauge<Labels<'rdlab_workers_active'>>;
  /** HTTP request time; `route` is the route template (`/v1/experiments/:id`), never the URL. */
  readonly httpRequestDurationSeconds: Histogram<Labels<'rdlab_http_request_duration_seconds'>>;
  /** Metric points buffered in this process, not yet written to Postgres. */
  readonly metricPointsPending: Gauge;
}

export interface MetricsOptions {
  /**
   * Also collect prom-client's default process and Node.js metrics (`process_*`, `nodejs_*`,
   * unprefixed so stock dashboards work), less the three `nodejs_active_*_total` gauges that
   * fail `promtool check metrics` (their `nodejs_active_*` namesakes carry the same counts).
   * @defaultValue false
   */
  defaultMetrics?: boolean;
}

const LINT_FAILING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

const created = new WeakMap<Registry, RdlabMetrics>();
const withDefaults = new WeakSet<Registry>();

/**
 * Registers rdlab's instruments in `registry` (a new one by default) and returns them. Asking
 * again for the same registry returns the same instruments (prom-client would throw on a
 * second registration).
 */
export function createMetrics(
  registry: Registry = new Registry(),
  options: MetricsOptions = {},
): RdlabMetrics {
  rejectUnknownOptions('createMetrics', options, ['defaultMetrics']);
  if (options.defaultMetrics && !withDefaults.has(registry)) {
    collectDefaultMetrics({ register: registry });
    // Gauges named `_total` fail `promtool check metrics`; each is the sum over the `type`
    // label of its namesake without the suffix (`sum(nodejs_active_handles)`), so drop them.
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);
    withDefaults.add(registry);
  }
  const existing = created.get(registry);
  if (existing) return existing;

  const registers = [registry];
  const labels = <N extends keyof typeof METRIC_LABELS>(name: N) => ({
    name,
    labelNames: METRIC_LABELS[name] as readonly Labels<N>[],
    registers,
  });
  const metrics: RdlabMetrics = {
    registry,
    jobDurationSeconds: new Histogram({
      ...labels('rdlab_job_duration_seconds'),
      help: 'Wall time of one job attempt, by pipeline stage.',
      buckets: JOB_DURATION_BUCKETS_SECONDS,
    }),
    samplesTotal: new Counter({
      ...labels('rdlab_samples_total'),
      help: 'Behaviour samples drawn from the behaviour LM (stage=bootstrap) or trained on (stage=train).',
    }),
    tokensTotal: new Counter({
      ...labels('rdlab_tokens_total'),
      help: 'Tokens generated or trained on, by pipeline stage and compute backend.',
    }),
    queueDepth: new Gauge({
      ...labels('rdlab_queue_depth'),
      help: 'BullMQ jobs per queue and state.',
    }),
    jobFailuresTotal: new Counter({
      ...labels('rdlab_job_failures_total'),
      help: 'Jobs that failed after their last attempt, by pipeline stage.',
    }),
    jobRetriesTotal: new Counter({
      ...labels('rdlab_job_retries_total'),
      help: 'Failed job attempts that will be retried, by pipeline stage.',
    }),
    workersActive: new Gauge({
      ...labels('rdlab_workers_active'),
      help: 'Workers processing a job now, by compute backend.',
    }),
    httpRequestDurationSeconds: new Histogram({
      ...labels('rdlab_http_request_duration_seconds'),
      help: 'HTTP request duration, by method, route template and status code.',
      buckets: HTTP_DURATION_BUCKETS_SECONDS,
    }),
    metricPointsPending: new Gauge({
      ...labels('rdlab_metric_points_pending'),
      help: 'Metric points buffered in this process, not yet written to Postgres.',
    }),
  };
  created.set(registry, metrics);
  return metrics;
}

/**
 * Sets `rdlab_queue_depth` from per-queue job counts (the shape of `@rdlab/jobs`' `queueDepth`;
 * its derived `depth` is left out: it is a sum of states, `sum by (queue)` gives it back).
 */
export function recordQueueDepth(
  metrics: RdlabMetrics,
  counts: Readonly<Record<string, Readonly<Record<string, number>>>>,
): void {
  for (const [queue, states] of Object.entries(counts)) {
    for (const [state, value] of Object.entries(states)) {
      if (state !== 'depth') metrics.queueDepth.set({ queue, state }, value);
    }
  }
}

/** The exposition text of `registry`, for `GET /metrics` (serve with {@link METRICS_CONTENT_TYPE}). */
export function metricsText(registry: Registry): Promise<string> {
  return registry.metrics();
}
