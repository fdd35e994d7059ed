/**
 * Line charts over epochs or steps (Acc, Reward, loss, kept fraction, importance weights), each
 * series with an optional band (mean ± sd over seeds) drawn as a shaded interval.
 */
import type uPlot from 'uplot';
import type { CsvValue } from '../csv.js';
import {
  axisSize,
  Chart,
  type ChartOptions,
  type ChartTable,
  INTEGER_INCRS,
  type LegendEntry,
  tickLabels,
} from './chart.js';
import { LINE_COLORS, withAlpha } from './palette.js';

export interface LineSeries {
  label: string;
  values: Array<number | null>;
  /** Lower and upper edges of an interval around `values`. */
  band?: { low: Array<number | null>; high: Array<number | null> };
  color?: string;
  dash?: number[];
}

export interface LineChartSpec {
  title: string;
  filename: string;
  xLabel: string;
  yLabel: string;
  x: number[];
  series: LineSeries[];
  /** Draw a marker at every point (few points: epochs). */
  points?: boolean;
  /** What the band is, for the description (`mean ± sd over 3 seeds`). */
  bandNote?: string;
  height?: number;
}

/** The uPlot data of a line chart: x, then per series its values and, with a band, low and high. */
export function lineData(spec: Pick<LineChartSpec, 'x' | 'series'>): uPlot.AlignedData {
  const data: Array<Array<number | null>> = [spec.x];
  for (const s of spec.series) {
    data.push(s.values);
    if (s.band) data.push(s.band.low, s.band.high);
  }
  return data as uPlot.AlignedData;
}

/** The data as a table: x, then per series its value (and low/high with a band). */
export function lineTable(spec: Pick<LineChartSpec, 'x' | 'series' | 'xLabel'>): ChartTable {
  const header = [spec.xLabel];
  for (const s of spec.series) {
    header.push(s.label);
    if (s.band) header.push(`${s.label} low`, `${s.label} high`);
  }
  const rows: CsvValue[][] = spec.x.map((x, i) => {
    const row: CsvValue[] = [x];
    for (const s of spec.series) {
      row.push(s.values[i] ?? null);
      if (s.band) row.push(s.band.low[i] ?? null, s.band.high[i] ?? null);
    }
    return row;
  });
  return { header, rows };
}

export function describeLines(spec: LineChartSpec): string {
  const parts = spec.series.map((s) => {
    const vals = s.values.filter((v): v is number => v !== null && Number.isFinite(v));
    if (vals.length === 0) return `${s.label}: no points yet`;
    const first = vals[0] as number;
    const last = vals.at(-1) as number;
    return `${s.label} from ${first.toPrecision(3)} to ${last.toPrecision(3)} over ${vals.length} points`;
  });
  return `${spec.title}: ${spec.yLabel} against ${spec.xLabel}. ${parts.join('; ')}.${spec.bandNote ? ` Shaded: ${spec.bandNote}.` : ''}`;
}

export function lineChart(spec: LineChartSpec): Chart {
  const colors = spec.series.map(
    (s, i) => s.color ?? (LINE_COLORS[i % LINE_COLORS.length] as string),
  );
  const legend: LegendEntry[] = spec.series.flatMap((s, i) => {
    const line = { label: s.label, color: colors[i] as string, line: s.dash ?? [] };
    if (!s.band) return [line];
    const shade = withAlpha(colors[i] as string, 0.3);
    return [
      line,
      { label: `shaded: ${spec.bandNote ?? 'interval'}`, color: shade, shape: 'square' as const },
    ];
  });
  const options = (): ChartOptions => {
    const series: uPlot.Series[] = [{ label: spec.xLabel }];
    const bands: uPlot.Band[] = [];
    spec.series.forEach((s, i) => {
      const color = colors[i] as string;
      series.push({
        label: s.label,
        stroke: color,
        width: 2,
        spanGaps: true,
        ...(s.dash ? { dash: s.dash } : {}),
        points: { show: spec.points ?? false, size: 6, fill: color, stroke: color },
        value: (_u, v) => (v === null || v === undefined ? '–' : v.toPrecision(4)),
      });
      if (s.band) {
        const low = series.length;
        const edge = (label: string): uPlot.Series => ({
          label,
          class: 'band-edge',
          stroke: withAlpha(color, 0.35),
          width: 1,
          spanGaps: true,
          points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toPrecision(4)),
        });
        series.push(edge(`${s.label} low`), edge(`${s.label} high`));
        bands.push({ series: [low + 1, low], fill: withAlpha(color, 0.15) });
      }
    });
    return {
      scales: { x: { time: false } },
      axes: [
        {
          label: spec.xLabel,
          stroke: '#333',
          grid: { stroke: '#e5e5e5' },
          ...(spec.x.every(Number.isInteger) ? { incrs: INTEGER_INCRS } : {}),
        },
        {
          label: spec.yLabel,
          stroke: '#333',
          grid: { stroke: '#e5e5e5' },
          size: axisSize,
          values: tickLabels,
        },
      ],
      series,
      bands,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
  };
  return new Chart({
    title: spec.title,
    description: describeLines(spec),
    filename: spec.filename,
    options,
    data: lineData(spec),
    table: lineTable(spec),
    legend,
    ...(spec.height ? { height: spec.height } : {}),
  });
}
