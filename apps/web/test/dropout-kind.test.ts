/**
 * A dropout kind added in one file — keep the k highest r of each batch — is a kind the whole
 * system knows: the spec schema accepts it, expansion makes its cells, it has a label that reads
 * back, the dashboard's types and grid carry it, and a reward-dropout step applies it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRng,
  type DropoutConfigOf,
  dropoutLabel,
  keepWhere,
  lossCoefficients,
  parseDropoutLabel,
  registerDropoutKind,
  validateSpec,
} from '@rdlab/core';
import { gridFromCells } from '../src/grid.js';
import type { CellSummary } from '../src/types.js';

// The kind's config type, merged into core's table of kinds (as Fastify plugins decorate).
declare module '@rdlab/core' {
  interface DropoutKinds {
    top: { count: number };
  }
}

registerDropoutKind({
  kind: 'top',
  description: 'all but the `count` highest r of each batch dropped',
  parameters: {
    count: { type: 'number', min: 1, integer: true, symbol: 'k', description: 'samples kept' },
  },
  apply: (rewards, { count }) => {
    const threshold = [...Array.from(rewards)].sort((a, b) => b - a)[count - 1] ?? -Infinity;
    return keepWhere(rewards, (r) => r >= threshold, threshold);
  },
});

const spec = {
  datasets: [{ name: 'demo', source: 'builtin:demo', attributes: ['positive'] }],
  dropout: [{ kind: 'none' }, { kind: 'top', count: [2, 3] }],
};

describe('a dropout kind registered in one file', () => {
  it('is accepted by the schema, expanded into cells and labelled', () => {
    const result = validateSpec(spec);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
    const tops = result.cells.filter((c) => c.dropout.kind === 'top');
    assert.deepEqual(
      tops.map((c) => c.dropout),
      [
        { kind: 'top', count: 2 },
        { kind: 'top', count: 3 },
      ],
    );
    assert.deepEqual(
      tops.map((c) => dropoutLabel(c.dropout)),
      ['top-2', 'top-3'],
    );
    assert.deepEqual(parseDropoutLabel('top-3'), { kind: 'top', count: 3 });
  });

  it('has its parameters checked, with the path and what is allowed', () => {
    const bad = validateSpec({ ...spec, dropout: [{ kind: 'top', count: [2, 0.5] }] });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.problems.map((p) => `${p.path} ${p.message}`),
      ['/dropout/0/count/1 must be an integer'],
    );
    const unknown = validateSpec({ ...spec, dropout: [{ kind: 'tpo', count: 2 }] });
    assert.ok(!unknown.ok);
    assert.match(unknown.problems[0]?.message ?? '', /'top'; did you mean 'top'\?/);
  });

  it("reaches the dashboard's grid by its structured kind", () => {
    const dropout: DropoutConfigOf<'top'> = { kind: 'top', count: 2 };
    const cell: CellSummary = {
      id: 'c1',
      index: 0,
      dataset: 'demo',
      attribute: 'positive',
      target: 'tiny',
      dropout,
      dropoutLabel: dropoutLabel(dropout),
      seed: 1,
      status: 'running',
      epochsDone: 1,
      start: { acc: 0.3, reward: 0.4 },
      latest: { epoch: 1, acc: 0.35, reward: 0.6 },
    };
    const grid = gridFromCells([cell]);
    assert.deepEqual(
      grid.rows.map((r) => [r.dropoutLabel, r.kind]),
      [
        ['start', 'start'],
        ['top-2', 'top'],
      ],
    );
  });

  it('is applied in a reward-dropout step', () => {
    const batch = {
      rewardModelScore: [2.0, -1.0, 0.5, 1.5],
      behaviorLikelihood: [0.3, 0.2, 0.25, 0.4],
      targetLikelihood: [0.3, 0.2, 0.25, 0.4],
    };
    const step = lossCoefficients(
      batch,
      {
        objective: 'total',
        dropout: { kind: 'top', count: 2 },
        importanceWeightClip: { kind: 'norm', bound: 1 },
      },
      createRng(0),
    );
    // r = R + ln(β̄ + ε): the two highest are samples 0 and 3.
    assert.deepEqual(Array.from(step.kept), [1, 0, 0, 1]);
    assert.deepEqual(
      Array.from(step.coefficients, (c) => c !== 0),
      [true, false, false, true],
    );
  });
});
