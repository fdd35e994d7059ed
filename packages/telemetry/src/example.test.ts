/** The README example, type-checked and run. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createLogger, createMetrics, METRICS_CONTENT_TYPE, metricsText } from './index.js';

it('runs the README example', async () => {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) }; // default: stdout
  // --- README example starts
  const log = createLogger({ name: 'rdlab-worker', level: 'info', destination });
  const metrics = createMetrics(undefined, { defaultMetrics: true });

  const end = metrics.jobDurationSeconds.startTimer({ stage: 'train' });
  metrics.workersActive.inc({ backend: 'cpu' });
  metrics.samplesTotal.inc({ stage: 'train' }, 64);
  metrics.tokensTotal.inc({ stage: 'train', backend: 'cpu' }, 64 * 26);
  log.info({ cellId: 'c0123', epoch: 1, token: 'never written' }, 'epoch done'); // token: "[redacted]"
  metrics.workersActive.dec({ backend: 'cpu' });
  end();

  // GET /metrics
  const body = await metricsText(metrics.registry);
  const headers = { 'content-type': METRICS_CONTENT_TYPE };
  // --- README example ends
  assert.match(body, /^rdlab_tokens_total\{stage="train",backend="cpu"\} 1664$/m);
  assert.match(headers['content-type'], /^text\/plain/);
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]?.includes('never written'));
});
