/**
 * Stage `report`: the sweep's results laid out like the paper's tables, the Pareto front over
 * (Acc, Reward), and a verdict per cell against the `none` cell of the same dataset, attribute and
 * target, with paired bootstrap confidence intervals over the held-out prefixes.
 */
import { createRng, dropoutGamma, type SweepSpec } from '@rdlab/core';
import type { CellResult } from './train.js';

export interface Stat {
  mean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  sd: number;
}

export interface Interval {
  mean: number;
  low: number;
  high: number;
}

export type Verdict =
  | 'pareto-improvement'
  | 'improves-one'
  | 'trade-off'
  | 'worse'
  | 'no-difference';

export interface VariantSummary {
  dataset: string;
  attribute: string;
  target: string;
  dropout: string;
  kind: string;
  gamma: number | null;
  seeds: number[];
  cellIds: string[];
  acc: Stat;
  reward: Stat;
  accPlusReward: Stat;
  tokenAccuracy: Stat;
  bleu: Stat;
  rouge1: Stat;
  rouge2: Stat;
  rougeL: Stat;
  meteor: Stat;
  distinct1: Stat;
  distinct2: Stat;
  /** Acc and Reward after each epoch (Figure 3), over seeds. */
  byEpoch: Array<{ epoch: number; acc: Stat; reward: Stat }>;
  /** Not dominated in (Acc, Reward) by another variant of the same dataset, attribute and target. */
  paretoOptimal: boolean;
  /** Against `none`, paired over prefixes and averaged over common seeds; null for `none` itself. */
  versusNone: { acc: Interval; reward: Interval; verdict: Verdict } | null;
}

export interface SweepReport {
  name: string;
  settings: Record<string, unknown>;
  variants: VariantSummary[];
  /** dataset/attribute column keys, in spec order. */
  columns: string[];
}

const METRICS = [
  'acc',
  'reward',
  'accPlusReward',
  'tokenAccuracy',
  'bleu',
  'rouge1',
  'rouge2',
  'rougeL',
  'meteor',
  'distinct1',
  'distinct2',
] as const;

function stat(values: number[]): Stat {
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const sd =
    values.length > 1
      ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1))
      : 0;
  return { mean, sd };
}

/** Percentile bootstrap of the mean of `deltas`, `resamples` times, seeded. */
export function bootstrapMean(
  deltas: number[],
  resamples: number,
  seed: number | string,
  level = 0.95,
): Interval {
  const n = deltas.length;
  const mean = deltas.reduce((a, b) => a + b, 0) / Math.max(1, n);
  if (n === 0) return { mean: 0, low: 0, high: 0 };
  const rng = createRng(seed, 'bootstrap');
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += deltas[rng.int(n)] as number;
    means[r] = s / n;
  }
  means.sort();
  const lo = Math.floor(((1 - level) / 2) * (resamples - 1));
  const hi = Math.ceil((1 - (1 - level) / 2) * (resamples - 1));
  return { mean, low: means[lo] as number, high: means[hi] as number };
}

export function verdictOf(acc: Interval, reward: Interval): Verdict {
  const up = (x: Interval) => x.low > 0;
  const down = (x: Interval) => x.high < 0;
  if (up(acc) && up(reward)) return 'pareto-improvement';
  if (down(acc) && down(reward)) return 'worse';
  if ((up(acc) && down(reward)) || (down(acc) && up(reward))) return 'trade-off';
  if (up(acc) || up(reward)) return 'improves-one';
  return 'no-difference';
}

/** Per-prefix deltas, variant minus none, averaged over the seeds both have. */
function pairedDeltas(
  variant: CellResult[],
  none: CellResult[],
  metric: 'acc' | 'reward',
): number[] {
  const bySeed = new Map(none.map((r) => [r.cell.seed, r]));
  const pairs = variant
    .filter((r) => bySeed.has(r.cell.seed))
    .map((r) => [r, bySeed.get(r.cell.seed) as CellResult] as const);
  if (pairs.length === 0) return [];
  const n = Math.min(
    ...pairs.flatMap(([a, b]) => [
      a.final.perSample[metric].length,
      b.final.perSample[metric].length,
    ]),
  );
  return Array.from(
    { length: n },
    (_, i) =>
      pairs.reduce(
        (s, [a, b]) =>
          s + (a.final.perSample[metric][i] as number) - (b.final.perSample[metric][i] as number),
        0,
      ) / pairs.length,
  );
}

export function buildReport(
  spec: SweepSpec,
  results: CellResult[],
  options: { resamples?: number } = {},
): SweepReport {
  const resamples = options.resamples ?? 1000;
  const groups = new Map<string, CellResult[]>();
  for (const r of results) {
    const key = [r.cell.dataset, r.cell.attribute, r.cell.target, r.dropout].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const variants: VariantSummary[] = [...groups.values()].map((rs) => {
    const first = rs[0] as CellResult;
    const summary = {
      dataset: first.cell.dataset,
      attribute: first.cell.attribute,
      target: first.cell.target,
      dropout: first.dropout,
      kind: first.cell.dropout.kind,
      gamma: dropoutGamma(first.cell.dropout),
      seeds: rs.map((r) => r.cell.seed),
      cellIds: rs.map((r) => r.cell.id),
      byEpoch: [...new Set(rs.flatMap((r) => r.epochs.map((e) => e.epoch)))]
        .sort((a, b) => a - b)
        .map((epoch) => {
          const at = rs.flatMap((r) => r.epochs.filter((e) => e.epoch === epoch));
          return {
            epoch,
            acc: stat(at.map((e) => e.eval.acc)),
            reward: stat(at.map((e) => e.eval.reward)),
          };
        }),
      paretoOptimal: false,
      versusNone: null,
    } as Omit<VariantSummary, (typeof METRICS)[number]> as VariantSummary;
    for (const m of METRICS) summary[m] = stat(rs.map((r) => r.final[m]));
    return summary;
  });
  const same = (a: VariantSummary, b: VariantSummary) =>
    a.dataset === b.dataset && a.attribute === b.attribute && a.target === b.target;
  for (const v of variants) {
    v.paretoOptimal = !variants.some(
      (w) =>
        w !== v &&
        same(w, v) &&
        w.acc.mean >= v.acc.mean &&
        w.reward.mean >= v.reward.mean &&
        (w.acc.mean > v.acc.mean || w.reward.mean > v.reward.mean),
    );
    if (v.kind === 'none') continue;
    const none = variants.find((w) => same(w, v) && w.kind === 'none');
    if (!none) continue;
    const of = (s: VariantSummary) => results.filter((r) => s.cellIds.includes(r.cell.id));
    const seed = `${v.dataset}/${v.attribute}/${v.target}/${v.dropout}`;
    const acc = bootstrapMean(pairedDeltas(of(v), of(none), 'acc'), resamples, `${seed}/acc`);
    const reward = bootstrapMean(
      pairedDeltas(of(v), of(none), 'reward'),
      resamples,
      `${seed}/reward`,
    );
    v.versusNone = { acc, reward, verdict: verdictOf(acc, reward) };
  }
  const columns = spec.datasets.flatMap((d) => d.attributes.map((a) => `${d.name}/${a}`));
  const { training, bootstrap, evaluation, behavior, rewardModel } = spec;
  return {
    name: spec.name,
    settings: { training, bootstrap, evaluation, behavior, rewardModel, seeds: spec.seeds },
    variants,
    columns,
  };
}

const fmt = (s: Stat, digits = 3) =>
  s.sd > 0 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits);

/** A Markdown table like the paper's Table 1 (rows: target × dropout; columns: dataset/attribute). */
export function tableMarkdown(
  report: SweepReport,
  metric: 'accPlusReward' | 'acc' | 'reward' = 'accPlusReward',
): string {
  const rows = [...new Set(report.variants.map((v) => `${v.target}\u0000${v.dropout}`))];
  const lines = [
    `| target | dropout | ${report.columns.join(' | ')} |`,
    `|---|---|${report.columns.map(() => '---').join('|')}|`,
  ];
  for (const row of rows) {
    const [target, dropout] = row.split('\u0000') as [string, string];
    const cells = report.columns.map((col) => {
      const v = report.variants.find(
        (x) =>
          x.target === target && x.dropout === dropout && `${x.dataset}/${x.attribute}` === col,
      );
      return v ? fmt(v[metric]) : '–';
    });
    lines.push(`| ${target} | ${dropout === 'none' ? 'N/A' : dropout} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** One row per cell and seed, for spreadsheets and pandas. */
export function resultsCsv(results: CellResult[]): string {
  const header = [
    'cell',
    'dataset',
    'attribute',
    'target',
    'dropout',
    'kind',
    'gamma',
    'seed',
    ...METRICS,
    'train_seconds',
  ];
  const rows = results.map((r) => [
    r.cell.id,
    r.cell.dataset,
    r.cell.attribute,
    r.cell.target,
    r.dropout,
    r.cell.dropout.kind,
    dropoutGamma(r.cell.dropout) ?? '',
    r.cell.seed,
    ...METRICS.map((m) => r.final[m]),
    r.trainSeconds.toFixed(1),
  ]);
  const quote = (v: unknown) =>
    typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v);
  return `${[header, ...rows].map((row) => row.map(quote).join(',')).join('\n')}\n`;
}
