import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type uPlot from 'uplot';
import { tickLabels } from '../src/charts/chart.js';
import { describeLines } from '../src/charts/line.js';
import { KIND_STYLES, OKABE_ITO, withAlpha } from '../src/charts/palette.js';
import { labelGroups, padded, scatterLayout } from '../src/charts/scatter.js';
import { gridFromReport, scatterPanels } from '../src/grid.js';
import { REPORT } from './fixtures.js';

const u = {} as uPlot;

describe('chart pieces', () => {
  it('labels ticks with the decimals their spacing needs', () => {
    assert.deepEqual(tickLabels(u, [0.006, 0.00602, 0.00604]), ['0.00600', '0.00602', '0.00604']);
    assert.deepEqual(tickLabels(u, [0, 0.25, 0.5]), ['0.00', '0.25', '0.50']);
    assert.deepEqual(tickLabels(u, [0, 5, 10]), ['0', '5', '10']);
  });

  it('pads scatter ranges without leaving [0, 1] for probabilities', () => {
    const [lo, hi] = padded(0.005, 0.006);
    assert.ok(lo >= 0 && lo < 0.005 && hi > 0.006 && hi <= 1);
    assert.deepEqual(padded(0, 1), [0, 1]);
    assert.ok(padded(-2, 3)[0] < -2);
  });

  it('joins the labels of markers on the same spot', () => {
    const points = [
      { label: 'none', kind: 'none', acc: 0.1, reward: 0.5, front: true },
      { label: 'quantile-0.5', kind: 'quantile', acc: 0.1, reward: 0.5, front: true },
      { label: 'start', kind: 'start', acc: 0.3, reward: 0.2, front: false },
    ];
    const groups = labelGroups(points, (p) => [p.acc * 100, p.reward * 100], 3);
    assert.deepEqual(
      groups.map((g) => g.text),
      ['none, quantile-0.5', 'start'],
    );
  });

  it('lays a scatter out as rows sorted by Acc, one series per kind, then the front', () => {
    const panel = scatterPanels(gridFromReport(REPORT))[0];
    assert.ok(panel);
    const layout = scatterLayout(panel);
    assert.deepEqual(layout.kinds, ['start', 'none', 'random', 'quantile']);
    const [xs, ...series] = layout.data;
    assert.deepEqual(xs, [0.2, 0.25, 0.3, 0.35]);
    assert.equal(series.length, layout.kinds.length + 1);
    // The front series holds Reward on the front's rows only: none (0.25) and quantile (0.35).
    assert.deepEqual(series.at(-1), [null, 0.8, null, 0.7]);
  });

  it('describes a line chart in words for screen readers', () => {
    const text = describeLines({
      title: 'Acc by epoch',
      filename: 'acc',
      xLabel: 'epoch',
      yLabel: 'Acc',
      x: [0, 1],
      series: [{ label: 'seed 1', values: [0.3, 0.35] }],
    });
    assert.match(text, /Acc against epoch\. seed 1 from 0\.300 to 0\.350 over 2 points/);
  });

  it('uses Okabe–Ito colours only, and a different shape per kind', () => {
    const palette = new Set<string>(Object.values(OKABE_ITO));
    for (const style of Object.values(KIND_STYLES))
      assert.ok(palette.has(style.color), style.label);
    const shapes = Object.values(KIND_STYLES).map((s) => s.shape);
    assert.equal(new Set(shapes).size, shapes.length);
    assert.equal(withAlpha('#0072B2', 0.5), 'rgba(0, 114, 178, 0.5)');
  });
});
