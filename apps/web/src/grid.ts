/**
 * The experiment's table laid out like the paper's Table 1: rows are target × dropout, each
 * target led by a `start` row (the target before training, epoch 0); columns are
 * dataset/attribute; a cell holds Acc, Reward and Acc + Reward (mean ± sd over seeds). From the
 * finished report (`report.variants`, with verdicts) or, while it runs, from the cells' latest
 * evaluations. Also the points of the Pareto scatter per (column, target). Pure.
 */
import { paretoFront } from './pareto.js';
import type { CellStatus, CellSummary, Report, ReportVariant, Stat, Verdict } from './types.js';

export interface GridMember {
  id: string;
  seed: number;
  status: CellStatus;
  epochsDone: number;
}

export interface GridCell {
  acc: Stat | null;
  reward: Stat | null;
  accPlusReward: Stat | null;
  /** The cells behind it, one per seed (empty on a start row from a report). */
  members: GridMember[];
  /** Latest epoch evaluated (the smallest over seeds); 0 on a start row; null when none yet. */
  epoch: number | null;
  versusStart: Verdict | null;
  /** null for `none` itself, and before the report exists. */
  versusNone: Verdict | null;
  degenerated: boolean;
  paretoOptimal: boolean | null;
}

export interface GridRow {
  target: string;
  /** The dropout's label (the row's key), or `start`. */
  dropoutLabel: string;
  /** The dropout's kind, or `start`: what the scatter's markers go by. */
  kind: string;
  start: boolean;
  /** One per column; null where the sweep has no such cell. */
  cells: Array<GridCell | null>;
}

export interface Grid {
  /** `dataset/attribute`, in spec order. */
  columns: string[];
  rows: GridRow[];
  source: 'report' | 'cells';
}

export const columnKey = (x: { dataset: string; attribute: string }) =>
  `${x.dataset}/${x.attribute}`;

/** Mean and sample sd (0 with one value); null with none. */
export function statOf(values: readonly number[]): Stat | null {
  if (values.length === 0) return null;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
      : 0;
  return { mean, sd };
}

const unique = <T>(xs: Iterable<T>) => [...new Set(xs)];

const emptyCell = (): GridCell => ({
  acc: null,
  reward: null,
  accPlusReward: null,
  members: [],
  epoch: null,
  versusStart: null,
  versusNone: null,
  degenerated: false,
  paretoOptimal: null,
});

/** The grid of a finished experiment's report. */
export function gridFromReport(report: Report, cells: readonly CellSummary[] = []): Grid {
  const columns = report.columns.length
    ? [...report.columns]
    : unique(report.variants.map(columnKey));
  const byId = new Map(cells.map((c) => [c.id, c]));
  const members = (v: ReportVariant): GridMember[] =>
    v.cellIds.map((id, i) => {
      const c = byId.get(id);
      return {
        id,
        seed: c?.seed ?? v.seeds[i] ?? 0,
        status: c?.status ?? 'succeeded',
        epochsDone: c?.epochsDone ?? v.byEpoch.at(-1)?.epoch ?? 0,
      };
    });
  const rows: GridRow[] = [];
  for (const target of unique(report.variants.map((v) => v.target))) {
    const mine = report.variants.filter((v) => v.target === target);
    const at = (column: string, label?: string) =>
      mine.find(
        (v) => columnKey(v) === column && (label === undefined || v.dropoutLabel === label),
      );
    rows.push({
      target,
      dropoutLabel: 'start',
      kind: 'start',
      start: true,
      cells: columns.map((column) => {
        const v = at(column);
        if (!v) return null;
        return {
          ...emptyCell(),
          acc: v.start.acc,
          reward: v.start.reward,
          accPlusReward: v.start.accPlusReward,
          epoch: 0,
        };
      }),
    });
    for (const label of unique(mine.map((v) => v.dropoutLabel))) {
      rows.push({
        target,
        dropoutLabel: label,
        kind: mine.find((v) => v.dropoutLabel === label)?.dropout.kind ?? label,
        start: false,
        cells: columns.map((column) => {
          const v = at(column, label);
          if (!v) return null;
          return {
            acc: v.acc,
            reward: v.reward,
            accPlusReward: v.accPlusReward,
            members: members(v),
            epoch: v.byEpoch.at(-1)?.epoch ?? null,
            versusStart: v.versusStart.verdict,
            versusNone: v.versusNone?.verdict ?? null,
            degenerated: v.degenerated,
            paretoOptimal: v.paretoOptimal,
          };
        }),
      });
    }
  }
  return { columns, rows, source: 'report' };
}

/** The grid while an experiment runs: each cell's latest evaluation, averaged over seeds. */
export function gridFromCells(cells: readonly CellSummary[]): Grid {
  const ordered = [...cells].sort((a, b) => a.index - b.index);
  const columns = unique(ordered.map(columnKey));
  const rows: GridRow[] = [];
  for (const target of unique(ordered.map((c) => c.target))) {
    const mine = ordered.filter((c) => c.target === target);
    rows.push({
      target,
      dropoutLabel: 'start',
      kind: 'start',
      start: true,
      cells: columns.map((column) => {
        const here = mine.filter((c) => columnKey(c) === column);
        if (here.length === 0) return null;
        // One start per seed: every dropout of a target starts from the same model.
        const bySeed = new Map<number, NonNullable<CellSummary['start']>>();
        for (const c of here) if (c.start && !bySeed.has(c.seed)) bySeed.set(c.seed, c.start);
        const starts = [...bySeed.values()];
        return {
          ...emptyCell(),
          ...values(starts),
          epoch: starts.length ? 0 : null,
        };
      }),
    });
    for (const label of unique(mine.map((c) => c.dropoutLabel))) {
      rows.push({
        target,
        dropoutLabel: label,
        kind: mine.find((c) => c.dropoutLabel === label)?.dropout.kind ?? label,
        start: false,
        cells: columns.map((column) => {
          const here = mine.filter((c) => columnKey(c) === column && c.dropoutLabel === label);
          if (here.length === 0) return null;
          const latest = here.flatMap((c) => (c.latest ? [c.latest] : []));
          return {
            ...emptyCell(),
            ...values(latest),
            members: here.map((c) => ({
              id: c.id,
              seed: c.seed,
              status: c.status,
              epochsDone: c.epochsDone,
            })),
            epoch: latest.length === here.length ? Math.min(...latest.map((l) => l.epoch)) : null,
          };
        }),
      });
    }
  }
  return { columns, rows, source: 'cells' };
}

function values(points: ReadonlyArray<{ acc: number | null; reward: number | null }>) {
  const both = points.filter(
    (p): p is { acc: number; reward: number } => p.acc !== null && p.reward !== null,
  );
  return {
    acc: statOf(both.map((p) => p.acc)),
    reward: statOf(both.map((p) => p.reward)),
    accPlusReward: statOf(both.map((p) => p.acc + p.reward)),
  };
}

// ─── The Pareto scatter ──────────────────────────────────────────────────────────────────────

export interface ScatterPoint {
  /** `start`, `none`, `quantile-0.8`, … */
  label: string;
  /** `start`, `none`, `random`, `quantile`, `threshold`. */
  kind: string;
  acc: number;
  reward: number;
  /** On the Pareto front of the trained variants (start excluded, as in the report). */
  front: boolean;
}

export interface ScatterPanel {
  column: string;
  target: string;
  points: ScatterPoint[];
  /** Indices into `points` of the front, by Acc ascending. */
  front: number[];
}

/** One scatter per (column, target): every variant's (Acc, Reward), the start point, the front. */
export function scatterPanels(grid: Grid): ScatterPanel[] {
  const panels: ScatterPanel[] = [];
  for (const target of unique(grid.rows.map((r) => r.target))) {
    const rows = grid.rows.filter((r) => r.target === target);
    grid.columns.forEach((column, c) => {
      const points: ScatterPoint[] = [];
      for (const row of rows) {
        const cell = row.cells[c];
        if (!cell?.acc || !cell.reward) continue;
        points.push({
          label: row.dropoutLabel,
          kind: row.kind,
          acc: cell.acc.mean,
          reward: cell.reward.mean,
          front: false,
        });
      }
      if (points.length === 0) return;
      const trained = points.map((p, i) => ({ p, i })).filter(({ p }) => p.kind !== 'start');
      const front = paretoFront(trained.map(({ p }) => ({ x: p.acc, y: p.reward }))).map(
        (k) => trained[k]?.i as number,
      );
      for (const i of front) (points[i] as ScatterPoint).front = true;
      panels.push({ column, target, points, front });
    });
  }
  return panels;
}

// ─── Export ──────────────────────────────────────────────────────────────────────────────────

export const GRID_CSV_HEADER = [
  'target',
  'dropout',
  'column',
  'acc_mean',
  'acc_sd',
  'reward_mean',
  'reward_sd',
  'acc_plus_reward_mean',
  'acc_plus_reward_sd',
  'epoch',
  'versus_start',
  'versus_none',
  'pareto_optimal',
  'degenerated',
  'cells',
];

/** One row per filled grid cell, in table order. */
export function gridRows(grid: Grid): Array<Array<string | number | boolean | null>> {
  return grid.rows.flatMap((row) =>
    grid.columns.flatMap((column, c) => {
      const cell = row.cells[c];
      if (!cell) return [];
      return [
        [
          row.target,
          row.dropoutLabel,
          column,
          cell.acc?.mean ?? null,
          cell.acc?.sd ?? null,
          cell.reward?.mean ?? null,
          cell.reward?.sd ?? null,
          cell.accPlusReward?.mean ?? null,
          cell.accPlusReward?.sd ?? null,
          cell.epoch,
          cell.versusStart,
          cell.versusNone,
          cell.paretoOptimal,
          row.start ? null : cell.degenerated,
          cell.members.map((m) => m.id).join(' '),
        ],
      ];
    }),
  );
}
