/**
 * The Pareto scatter of one (dataset/attribute, target): Acc on x, Reward on y, one marker per
 * dropout variant (shape and colour by kind), the start point (the target before training), the
 * front of the trained variants joined by a dashed line, and dashed guides through the `none`
 * baseline: a point up and to the right of both guides improves on no dropout in both objectives.
 * Each marker is labelled with its variant.
 *
 * uPlot draws it in its ordinary mode: one row per point, sorted by Acc; each kind is a series
 * with points and no line, holding a value only on its own rows; the front is a series with a
 * line through its rows (gaps spanned).
 */
import type uPlot from 'uplot';
import type { ScatterPanel, ScatterPoint } from '../grid.js';
import {
  axisSize,
  Chart,
  type ChartOptions,
  type LegendEntry,
  shapePoints,
  tickLabels,
} from './chart.js';
import { FRONT_COLOR, KIND_STYLES, kindStyle, OKABE_ITO } from './palette.js';

export interface ScatterLayout {
  /** Points sorted by Acc. */
  points: ScatterPoint[];
  kinds: string[];
  data: uPlot.AlignedData;
}

const KIND_ORDER = Object.keys(KIND_STYLES);

/** The aligned data: x = Acc per point; per kind its Reward on its rows; then the front. */
export function scatterLayout(panel: ScatterPanel): ScatterLayout {
  const points = [...panel.points].sort((a, b) => a.acc - b.acc || b.reward - a.reward);
  const kinds = [...new Set(points.map((p) => p.kind))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  const xs = points.map((p) => p.acc);
  const perKind = kinds.map((kind) => points.map((p) => (p.kind === kind ? p.reward : null)));
  const front = points.map((p) => (p.front ? p.reward : null));
  return { points, kinds, data: [xs, ...perKind, front] as uPlot.AlignedData };
}

const rank = (kind: string) => {
  const i = KIND_ORDER.indexOf(kind);
  return i < 0 ? KIND_ORDER.length : i;
};

export function describeScatter(panel: ScatterPanel): string {
  const fmt = (p: ScatterPoint) =>
    `${p.label} at Acc ${p.acc.toFixed(3)}, Reward ${p.reward.toFixed(3)}`;
  const front = panel.points.filter((p) => p.front).map((p) => p.label);
  return `Pareto scatter of ${panel.column}, target ${panel.target}: ${panel.points.map(fmt).join('; ')}. Pareto front: ${front.join(', ') || 'none'}.`;
}

export function scatterTable(panel: ScatterPanel) {
  return {
    header: ['variant', 'kind', 'acc', 'reward', 'pareto_front'],
    rows: panel.points.map((p) => [p.label, p.kind, p.acc, p.reward, p.front]),
  };
}

/**
 * Padded [min, max] so markers at the edges stay whole; not below 0 or above 1 when the data is
 * not (Acc and Reward are probabilities).
 */
export function padded(min: number | null, max: number | null): [number, number] {
  const lo = min ?? 0;
  const hi = max ?? 1;
  const pad = Math.max((hi - lo) * 0.15, Math.abs(hi) * 0.05, 1e-3);
  return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi <= 1 ? Math.min(1, hi + pad) : hi + pad];
}

/** Labels of markers that fall on (nearly) the same spot, joined: `none, quantile-0.5`. */
export function labelGroups(
  points: readonly ScatterPoint[],
  position: (p: ScatterPoint) => [number, number],
  radius: number,
): Array<{ x: number; y: number; text: string }> {
  const groups: Array<{ x: number; y: number; labels: string[] }> = [];
  for (const p of points) {
    const [x, y] = position(p);
    const near = groups.find((g) => Math.hypot(g.x - x, g.y - y) <= radius);
    if (near) near.labels.push(p.label);
    else groups.push({ x, y, labels: [p.label] });
  }
  return groups.map((g) => ({ x: g.x, y: g.y, text: g.labels.join(', ') }));
}

export function paretoChart(panel: ScatterPanel): Chart {
  const layout = scatterLayout(panel);
  const legend: LegendEntry[] = [
    ...layout.kinds.map((kind, i) => {
      const s = kindStyle(kind, i);
      return { label: s.label, color: s.color, shape: s.shape };
    }),
    { label: 'Pareto front', color: FRONT_COLOR, line: [6, 4] },
  ];
  const labelsOf = () => layout.points;
  const options = (): ChartOptions => ({
    scales: {
      x: { time: false, range: (_u, min, max) => padded(min, max) },
      y: { range: (_u, min, max) => padded(min, max) },
    },
    axes: [
      {
        label: 'Acc (behaviour-model likelihood)',
        stroke: '#333',
        grid: { stroke: '#e5e5e5' },
        values: tickLabels,
      },
      {
        label: 'Reward',
        stroke: '#333',
        grid: { stroke: '#e5e5e5' },
        size: axisSize,
        values: tickLabels,
      },
    ],
    series: [
      { label: 'Acc', value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(3)) },
      ...layout.kinds.map((kind, i): uPlot.Series => {
        const s = kindStyle(kind, i);
        return {
          label: s.label,
          stroke: s.color,
          // Only the legend's swatch: without a path nothing is filled.
          fill: s.color,
          paths: () => null,
          points: {
            show: true,
            size: kind === 'none' || kind === 'start' ? 13 : 11,
            width: 1,
            stroke: s.color,
            fill: s.color,
            paths: shapePoints(s.shape, kind === 'none' || kind === 'start' ? 13 : 11),
          },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(3)),
        };
      }),
      {
        label: 'Pareto front',
        stroke: FRONT_COLOR,
        width: 2,
        dash: [6, 4],
        spanGaps: true,
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? '–' : v.toFixed(3)),
      },
    ],
    legend: { show: true },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const ratio = ctx.canvas.width / Math.max(1, u.width);
          const { left, top, width, height } = u.bbox;
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, top, width, height);
          ctx.clip();
          // Guides through the `none` baseline.
          const none = labelsOf().find((p) => p.kind === 'none');
          if (none) {
            const x = u.valToPos(none.acc, 'x', true);
            const y = u.valToPos(none.reward, 'y', true);
            ctx.strokeStyle = OKABE_ITO.black;
            ctx.globalAlpha = 0.45;
            ctx.lineWidth = ratio;
            ctx.setLineDash([3 * ratio, 3 * ratio]);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.moveTo(left, y);
            ctx.lineTo(left + width, y);
            ctx.stroke();
            ctx.setLineDash([]);
            ctx.globalAlpha = 1;
          }
          // A label beside each marker.
          ctx.font = `${11 * ratio}px system-ui, sans-serif`;
          ctx.fillStyle = '#222';
          ctx.textBaseline = 'bottom';
          const groups = labelGroups(
            labelsOf(),
            (p) => [u.valToPos(p.acc, 'x', true), u.valToPos(p.reward, 'y', true)],
            6 * ratio,
          );
          for (const { x, y, text } of groups) {
            const w = ctx.measureText(text).width;
            const right = x + 9 * ratio + w < left + width;
            ctx.textAlign = right ? 'left' : 'right';
            ctx.fillText(text, right ? x + 9 * ratio : x - 9 * ratio, y - 3 * ratio);
          }
          ctx.restore();
        },
      ],
    },
  });
  return new Chart({
    title: `Acc against Reward: ${panel.column} · ${panel.target}`,
    description: describeScatter(panel),
    filename: `pareto-${panel.column}-${panel.target}`,
    options,
    data: layout.data,
    table: scatterTable(panel),
    legend,
    height: 300,
  });
}
