/**
 * A chart on the page: a `<figure>` with its title, the uPlot canvas (role="img" with a
 * description for screen readers), buttons to save it as PNG (the canvas with the title and a
 * legend drawn around it, `toDataURL`) and its data as CSV (a Blob), and the same data as a
 * table behind a disclosure for keyboard and screen-reader users.
 */
import uPlot from 'uplot';
import { type CsvValue, downloadText, downloadUrl, fileSlug, toCsv } from '../csv.js';
import { h } from '../dom.js';
import type { Shape } from './palette.js';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

export interface LegendEntry {
  label: string;
  color: string;
  shape?: Shape;
  /** A line (with this dash) instead of a marker. */
  line?: number[];
}

export interface ChartTable {
  header: string[];
  rows: CsvValue[][];
}

export interface ChartSpec {
  title: string;
  /** What the chart shows, in words (its aria-label). */
  description: string;
  /** File name without extension. */
  filename: string;
  /** uPlot options for a width in CSS pixels (width and height are the frame's). */
  options: (width: number) => ChartOptions;
  data: uPlot.AlignedData;
  /** The data behind it, for the CSV and the table. */
  table: ChartTable;
  /** The legend drawn into the PNG. */
  legend: LegendEntry[];
  /** @defaultValue 260 */
  height?: number;
}

const MIN_WIDTH = 280;
const MAX_WIDTH = 760;

export class Chart {
  readonly figure: HTMLElement;
  private plot: uPlot | null = null;
  private readonly host: HTMLDivElement;
  private readonly tableHost: HTMLDivElement;
  private resize: ResizeObserver | null = null;

  constructor(private spec: ChartSpec) {
    this.host = h('div', { class: 'chart-canvas', role: 'img', 'aria-label': spec.description });
    this.tableHost = h('div', { class: 'chart-table' });
    const slug = fileSlug(spec.filename);
    this.figure = h(
      'figure',
      { class: 'chart', 'data-chart': slug },
      h('figcaption', {}, spec.title),
      this.host,
      h(
        'div',
        { class: 'chart-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            'aria-label': `Download “${spec.title}” as PNG`,
            onclick: () => this.downloadPng(),
          },
          'PNG',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            'aria-label': `Download the data of “${spec.title}” as CSV`,
            onclick: () => downloadText(this.csv(), `${fileSlug(this.spec.filename)}.csv`),
          },
          'CSV',
        ),
      ),
      h('details', { class: 'chart-data' }, h('summary', {}, 'Data'), this.tableHost),
    );
    this.renderTable();
  }

  /** Creates the plot once the figure is in the document (uPlot needs a width). */
  mount(parent: Element): this {
    parent.append(this.figure);
    const width = this.width();
    this.plot = new uPlot(
      { ...this.spec.options(width), width, height: this.spec.height ?? 260 },
      this.spec.data,
      this.host,
    );
    this.resize = new ResizeObserver(() => {
      const w = this.width();
      if (this.plot && Math.abs(w - this.plot.width) > 4)
        this.plot.setSize({ width: w, height: this.spec.height ?? 260 });
    });
    this.resize.observe(this.figure);
    return this;
  }

  /** New data (live updates); the options stay. */
  update(data: uPlot.AlignedData, table: ChartTable, description?: string): void {
    this.spec = { ...this.spec, data, table, ...(description ? { description } : {}) };
    if (description) this.host.setAttribute('aria-label', description);
    this.plot?.setData(data);
    this.renderTable();
  }

  destroy(): void {
    this.resize?.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  csv(): string {
    return toCsv(this.spec.table.header, this.spec.table.rows);
  }

  /** The chart as a PNG data URL: title, plot and legend on white. */
  png(): string {
    const plot = this.plot;
    if (!plot) throw new Error('the chart is not mounted');
    const source = plot.ctx.canvas;
    const ratio = source.width / Math.max(1, plot.width);
    const pad = 12 * ratio;
    const titleH = 26 * ratio;
    const rowH = 20 * ratio;
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    // Legend entries flow in rows across the width.
    ctx.font = `${12 * ratio}px system-ui, sans-serif`;
    const widths = this.spec.legend.map(
      (e) => 22 * ratio + ctx.measureText(e.label).width + 14 * ratio,
    );
    const rows: number[][] = [[]];
    let x = 0;
    widths.forEach((w, i) => {
      if (x + w > source.width && x > 0) {
        rows.push([]);
        x = 0;
      }
      rows.at(-1)?.push(i);
      x += w;
    });
    canvas.width = source.width + 2 * pad;
    canvas.height = titleH + source.height + rows.length * rowH + 2 * pad;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#111111';
    ctx.textBaseline = 'middle';
    ctx.font = `600 ${14 * ratio}px system-ui, sans-serif`;
    ctx.fillText(this.spec.title, pad, pad + titleH / 2);
    ctx.drawImage(source, pad, pad + titleH);
    ctx.font = `${12 * ratio}px system-ui, sans-serif`;
    rows.forEach((row, r) => {
      let lx = pad;
      const ly = pad + titleH + source.height + r * rowH + rowH / 2;
      for (const i of row) {
        const entry = this.spec.legend[i];
        if (!entry) continue;
        ctx.strokeStyle = entry.color;
        ctx.fillStyle = entry.color;
        if (entry.line) {
          ctx.lineWidth = 2 * ratio;
          ctx.setLineDash(entry.line.map((d) => d * ratio));
          ctx.beginPath();
          ctx.moveTo(lx, ly);
          ctx.lineTo(lx + 16 * ratio, ly);
          ctx.stroke();
          ctx.setLineDash([]);
        } else {
          ctx.fill(shapePath(entry.shape ?? 'circle', lx + 8 * ratio, ly, 5 * ratio));
        }
        ctx.fillStyle = '#111111';
        ctx.fillText(entry.label, lx + 22 * ratio, ly);
        lx += widths[i] ?? 0;
      }
    });
    return canvas.toDataURL('image/png');
  }

  private downloadPng(): void {
    downloadUrl(this.png(), `${fileSlug(this.spec.filename)}.png`);
  }

  private width(): number {
    const available = this.figure.clientWidth || this.figure.parentElement?.clientWidth || 600;
    return Math.max(MIN_WIDTH, Math.min(MAX_WIDTH, available - 4));
  }

  private renderTable(): void {
    const { header, rows } = this.spec.table;
    const cell = (v: CsvValue) =>
      v === null || v === undefined ? '–' : typeof v === 'number' ? formatCell(v) : String(v);
    this.tableHost.replaceChildren(
      h(
        'table',
        { class: 'data' },
        h('caption', { class: 'visually-hidden' }, `Data of ${this.spec.title}`),
        h('thead', {}, h('tr', {}, ...header.map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((v) => h('td', {}, cell(v)))))),
      ),
    );
  }
}

/**
 * Axis tick labels with as many decimals as the tick spacing needs (uPlot's default rounds
 * 0.00601 and 0.00602 both to 0.006 on a narrow range).
 */
export function tickLabels(_u: uPlot, splits: number[]): string[] {
  let step = Number.POSITIVE_INFINITY;
  for (let i = 1; i < splits.length; i++) {
    const d = Math.abs((splits[i] as number) - (splits[i - 1] as number));
    if (d > 0) step = Math.min(step, d);
  }
  let digits = Number.isFinite(step) ? Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)) : 3;
  while (digits < 10 && Math.abs(step * 10 ** digits - Math.round(step * 10 ** digits)) > 1e-6)
    digits++;
  return splits.map((v) => (v === null || v === undefined ? '' : v.toFixed(Math.min(digits, 10))));
}

/** A y axis wide enough for its longest tick label and its title (CSS pixels). */
export function axisSize(_u: uPlot, values: string[] | null): number {
  const longest = Math.max(4, ...(values ?? []).map((v) => String(v).length));
  return Math.ceil(longest * 7 + 30);
}

/** Tick spacings for an axis of whole numbers (epochs, steps). */
export const INTEGER_INCRS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6,
];

const formatCell = (v: number) =>
  Number.isInteger(v) ? String(v) : Math.abs(v) >= 1000 ? v.toFixed(0) : v.toPrecision(4);

/** A marker of `shape` centred on (x, y) with radius r (canvas pixels). */
export function shapePath(
  shape: Shape,
  x: number,
  y: number,
  r: number,
  path = new Path2D(),
): Path2D {
  switch (shape) {
    case 'circle':
      path.moveTo(x + r, y);
      path.arc(x, y, r, 0, 2 * Math.PI);
      break;
    case 'square':
      path.rect(x - r * 0.9, y - r * 0.9, r * 1.8, r * 1.8);
      break;
    case 'diamond':
      path.moveTo(x, y - r * 1.25);
      path.lineTo(x + r * 1.25, y);
      path.lineTo(x, y + r * 1.25);
      path.lineTo(x - r * 1.25, y);
      path.closePath();
      break;
    case 'triangle':
      path.moveTo(x, y - r * 1.2);
      path.lineTo(x + r * 1.1, y + r * 0.8);
      path.lineTo(x - r * 1.1, y + r * 0.8);
      path.closePath();
      break;
    case 'cross': {
      const t = r * 0.4;
      path.moveTo(x - t, y - r);
      path.lineTo(x + t, y - r);
      path.lineTo(x + t, y - t);
      path.lineTo(x + r, y - t);
      path.lineTo(x + r, y + t);
      path.lineTo(x + t, y + t);
      path.lineTo(x + t, y + r);
      path.lineTo(x - t, y + r);
      path.lineTo(x - t, y + t);
      path.lineTo(x - r, y + t);
      path.lineTo(x - r, y - t);
      path.lineTo(x - t, y - t);
      path.closePath();
      break;
    }
  }
  return path;
}

/** uPlot points drawn as `shape` (size: diameter in CSS pixels). */
export function shapePoints(shape: Shape, size: number): uPlot.Series.Points.PathBuilder {
  return (u, seriesIdx, idx0, idx1) => {
    const path = new Path2D();
    const xs = u.data[0];
    const ys = u.data[seriesIdx];
    const scale = u.series[seriesIdx]?.scale ?? 'y';
    const ratio = u.ctx.canvas.width / Math.max(1, u.width);
    const r = (size * ratio) / 2;
    for (let i = idx0; i <= idx1; i++) {
      const x = xs[i];
      const y = ys?.[i];
      if (x === null || x === undefined || y === null || y === undefined) continue;
      shapePath(shape, u.valToPos(x, 'x', true), u.valToPos(y, scale, true), r, path);
    }
    return { stroke: path, fill: path };
  };
}
