import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import {
  createMetrics,
  METRIC_LABELS,
  METRICS_CONTENT_TYPE,
  metricsText,
  type RdlabMetrics,
  recordQueueDepth,
  TelemetryOptionsError,
} from './index.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const skipWithoutPromtool =
  promtool.status === 0 ? false : 'promtool is not on PATH (apt-get install prometheus)';

/** Every instrument with a value, so the exposition shows every series kind. */
function exercise(metrics: RdlabMetrics) {
  metrics.jobDurationSeconds.observe({ stage: 'train' }, 3_600);
  metrics.jobDurationSeconds.startTimer({ stage: 'report' })();
  metrics.samplesTotal.inc({ stage: 'bootstrap' }, 10_000);
  metrics.samplesTotal.inc({ stage: 'train' }, 64);
  metrics.tokensTotal.inc({ stage: 'train', backend: 'cpu' }, 1_920);
  metrics.jobFailuresTotal.inc({ stage: 'publish' });
  metrics.jobRetriesTotal.inc({ stage: 'bootstrap' });
  metrics.workersActive.set({ backend: 'tensorflow-gpu' }, 2);
  metrics.httpRequestDurationSeconds.observe(
    { method: 'POST', route: '/v1/experiments', status_code: '201' },
    0.012,
  );
  metrics.metricPointsPending.set(17);
  recordQueueDepth(metrics, {
    'rdlab-stages': { waiting: 3, prioritized: 0, delayed: 1, active: 1, depth: 4 },
  });
}

describe('createMetrics', () => {
  it('exposes every instrument with the rdlab_ prefix, units and help', async () => {
    const metrics = createMetrics();
    exercise(metrics);
    const text = await metricsText(metrics.registry);
    for (const name of Object.keys(METRIC_LABELS)) {
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), name);
    }
    assert.match(text, /^rdlab_job_duration_seconds_bucket\{le="14400",stage="train"\} 1$/m);
    assert.match(text, /^rdlab_samples_total\{stage="bootstrap"\} 10000$/m);
    assert.match(text, /^rdlab_queue_depth\{queue="rdlab-stages",state="waiting"\} 3$/m);
    assert.doesNotMatch(text, /state="depth"/);
    assert.match(METRICS_CONTENT_TYPE, /^text\/plain; version=0\.0\.4/);
  });

  it('passes promtool check metrics', { skip: skipWithoutPromtool }, async () => {
    const metrics = createMetrics(new Registry(), { defaultMetrics: true });
    exercise(metrics);
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: await metricsText(metrics.registry),
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
  });

  it('has bounded label sets: no experiment, cell, job or user labels', async () => {
    const metrics = createMetrics();
    exercise(metrics);
    const allowed = new Set([
      'stage',
      'backend',
      'queue',
      'state',
      'method',
      'route',
      'status_code',
    ]);
    const json = await metrics.registry.getMetricsAsJSON();
    assert.equal(json.length, Object.keys(METRIC_LABELS).length);
    for (const metric of json) {
      assert.ok(metric.name.startsWith('rdlab_'), metric.name);
      for (const value of metric.values) {
        for (const label of Object.keys(value.labels)) {
          if (label === 'le') continue; // histogram buckets
          assert.ok(allowed.has(label), `${metric.name} has label ${label}`);
          assert.doesNotMatch(label, /experiment|cell|job_?id|user|shard/i);
        }
      }
    }
    // prom-client refuses labels outside the declared set at runtime too.
    assert.throws(() =>
      (metrics.samplesTotal.inc as (labels: Record<string, string>) => void)({ cellId: 'c1' }),
    );
  });

  it('returns the same instruments for the same registry', () => {
    const registry = new Registry();
    const a = createMetrics(registry);
    const b = createMetrics(registry, { defaultMetrics: true });
    assert.equal(a, b);
    assert.equal(a.registry, registry);
    assert.notEqual(createMetrics(), a);
  });

  it('adds process metrics only when asked', async () => {
    const plain = await metricsText(createMetrics().registry);
    assert.doesNotMatch(plain, /process_cpu_seconds_total/);
    const full = await metricsText(
      createMetrics(new Registry(), { defaultMetrics: true }).registry,
    );
    assert.match(full, /^process_cpu_seconds_total /m);
  });

  it('rejects unknown options', () => {
    assert.throws(
      () => createMetrics(new Registry(), { prefix: 'x_' } as never),
      (e: unknown) =>
        e instanceof TelemetryOptionsError && e.code === 'RDLAB_TELEMETRY_OPTIONS_INVALID',
    );
  });
});
