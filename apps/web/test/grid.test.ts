import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GRID_CSV_HEADER,
  gridFromCells,
  gridFromReport,
  gridRows,
  scatterPanels,
} from '../src/grid.js';
import { cell, REPORT } from './fixtures.js';

const near = (a: number | undefined, b: number) =>
  assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${a} ≠ ${b}`);

describe('the Table-1 grid from a report', () => {
  const grid = gridFromReport(REPORT);

  it('has a start row first per target, then each dropout in report order; columns in spec order', () => {
    assert.deepEqual(grid.columns, ['demo/negative', 'demo/positive']);
    assert.deepEqual(
      grid.rows.map((r) => `${r.target}/${r.dropoutLabel}`),
      ['tiny/start', 'tiny/none', 'tiny/quantile-0.5', 'tiny/random-0.8'],
    );
    assert.equal(grid.rows[0]?.start, true);
    assert.equal(grid.source, 'report');
  });

  it('fills cells with Acc, Reward, their sum and both verdicts; empty where the sweep has none', () => {
    const [start, none, quantile, random] = grid.rows;
    near(start?.cells[0]?.accPlusReward?.mean, 0.7);
    assert.equal(start?.cells[0]?.versusStart, null);
    near(quantile?.cells[0]?.acc?.mean, 0.35);
    near(quantile?.cells[0]?.accPlusReward?.mean, 1.05);
    assert.equal(quantile?.cells[0]?.versusStart, 'pareto-improvement');
    assert.equal(quantile?.cells[0]?.versusNone, 'trade-off');
    assert.equal(none?.cells[0]?.versusNone, null);
    assert.equal(none?.cells[1]?.degenerated, true);
    assert.equal(random?.cells[0]?.versusNone, 'dominated');
    assert.equal(random?.cells[1], null);
    assert.deepEqual(
      quantile?.cells[0]?.members.map((m) => m.id),
      ['c-negative-quantile-0.5'],
    );
  });

  it('exports one CSV row per filled cell', () => {
    const rows = gridRows(grid);
    assert.equal(rows.length, 2 + 2 + 2 + 1);
    assert.equal(rows[0]?.length, GRID_CSV_HEADER.length);
    assert.deepEqual(rows[0]?.slice(0, 3), ['tiny', 'start', 'demo/negative']);
  });
});

describe('the grid while an experiment runs', () => {
  const cells = [
    cell(0, 'negative', 'none', 1, { epoch: 1, acc: 0.3, reward: 0.6 }),
    cell(1, 'negative', 'none', 2, { epoch: 2, acc: 0.5, reward: 0.8 }),
    cell(2, 'negative', 'quantile-0.5', 1, null),
    cell(3, 'negative', 'quantile-0.5', 2, null, null),
  ];
  const grid = gridFromCells(cells);

  it('averages the latest evaluations over seeds (sample sd) and keeps each seed as a member', () => {
    assert.deepEqual(
      grid.rows.map((r) => r.dropoutLabel),
      ['start', 'none', 'quantile-0.5'],
    );
    const none = grid.rows[1]?.cells[0];
    near(none?.acc?.mean, 0.4);
    near(none?.acc?.sd, Math.sqrt(0.02));
    near(none?.accPlusReward?.mean, 1.1);
    assert.equal(none?.epoch, 1);
    assert.deepEqual(
      none?.members.map((m) => [m.id, m.seed]),
      [
        ['c0', 1],
        ['c1', 2],
      ],
    );
    assert.equal(grid.rows[2]?.cells[0]?.acc, null);
    assert.equal(grid.rows[2]?.cells[0]?.epoch, null);
  });

  it('takes one start per seed for the start row', () => {
    const start = grid.rows[0]?.cells[0];
    near(start?.acc?.mean, (0.31 + 0.32) / 2);
    assert.equal(start?.epoch, 0);
  });
});

describe('the Pareto scatter panels', () => {
  it('makes one panel per column and target, with the start point and the front of the trained variants', () => {
    const panels = scatterPanels(gridFromReport(REPORT));
    assert.deepEqual(
      panels.map((p) => p.column),
      ['demo/negative', 'demo/positive'],
    );
    const negative = panels[0];
    assert.deepEqual(
      negative?.points.map((p) => [p.label, p.kind, p.front]),
      [
        ['start', 'start', false],
        ['none', 'none', true],
        ['quantile-0.5', 'quantile', true],
        ['random-0.8', 'random', false],
      ],
    );
    // The front from left to right, as the report marks it.
    assert.deepEqual(
      negative?.front.map((i) => negative.points[i]?.label),
      ['none', 'quantile-0.5'],
    );
    for (const panel of panels) {
      for (const p of panel.points) {
        if (p.kind === 'start') continue;
        const v = REPORT.variants.find(
          (x) => `${x.dataset}/${x.attribute}` === panel.column && x.dropoutLabel === p.label,
        );
        assert.equal(p.front, v?.paretoOptimal, `${panel.column} ${p.label}`);
      }
    }
  });
});
