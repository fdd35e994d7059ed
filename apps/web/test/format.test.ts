import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ago, duration, flops, num, stat, thousands } from '../src/format.js';
import { cellsDone, currentStage, stagesLine } from '../src/progress.js';
import { matchPath } from '../src/router.js';
import type { Progress } from '../src/types.js';

describe('formatting', () => {
  it('writes numbers, stats and durations', () => {
    assert.equal(num(0.41234), '0.412');
    assert.equal(num(null), '–');
    assert.equal(num(0.0057712), '0.00577');
    assert.equal(num(0), '0.000');
    assert.equal(stat({ mean: 0.5, sd: 0 }), '0.500');
    assert.equal(stat({ mean: 0.5, sd: 0.01 }), '0.500 ± 0.010');
    assert.equal(duration(null), '–');
    assert.equal(duration(45), '45 s');
    assert.equal(duration(0.42), '0.4 s');
    assert.equal(duration(0.01), '< 0.1 s');
    assert.equal(duration(200), '3 min 20 s');
    assert.equal(duration(7500), '2 h 5 min');
    assert.equal(thousands(3_000_000), '3,000,000');
    assert.equal(flops(1.2e12), '1.2 TFLOP');
  });

  it('writes times relative to now', () => {
    const now = Date.parse('2024-06-01T12:00:00Z');
    assert.equal(ago('2024-06-01T11:59:58Z', now), 'just now');
    assert.equal(ago('2024-06-01T11:55:00Z', now), '5 min ago');
    assert.equal(ago('2024-05-30T12:00:00Z', now), '2 d ago');
    assert.equal(ago(null, now), '–');
  });
});

describe('progress in words', () => {
  const zero = { waiting: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
  const progress: Progress = {
    status: 'running',
    stages: {
      prepare: { ...zero, completed: 1 },
      bootstrap: { ...zero, completed: 3, active: 1 },
      train: { ...zero, waiting: 2 },
      publish: zero,
      report: zero,
    },
    cells: { pending: 2, running: 0, succeeded: 1, failed: 1, cancelled: 0 },
    etaSeconds: null,
  };

  it('counts finished cells, names the furthest stage at work, lists stages with jobs', () => {
    assert.equal(cellsDone(progress), 2);
    assert.equal(currentStage(progress), 'train');
    assert.equal(stagesLine(progress), 'prepare 1/1 · bootstrap 3/4 · train 0/2');
  });
});

describe('client-side routes', () => {
  it('matches path patterns and decodes parameters', () => {
    assert.deepEqual(matchPath('/experiments/:id', '/experiments/e12'), { id: 'e12' });
    assert.deepEqual(matchPath('/cells/:cellId', '/cells/c%201'), { cellId: 'c 1' });
    assert.deepEqual(matchPath('/', '/'), {});
    assert.equal(matchPath('/experiments/:id', '/experiments'), null);
    assert.equal(matchPath('/submit', '/workers'), null);
  });
});
