/**
 * Stage `report`: the sweep's results laid out like the paper's tables, the Pareto front over
 * (Acc, Reward), and two verdicts per variant, each from paired bootstrap confidence intervals
 * over the held-out prefixes: against the start point (π before training: the paper's Pareto
 * improvement) and against the `none` cell of the same dataset, attribute and target.
 */
import { createRng, type DropoutConfig, dropoutParameters, type SweepSpec } from '@rdlab/core';
import type { EvalResult } from './evaluate.js';
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

/**
 * The paper's reading of two objectives: a Pareto improvement makes at least one better and
 * neither worse; its mirror is dominated; opposite moves are a trade-off. "Better" and "worse"
 * mean a 95% interval wholly above or below zero.
 */
export type Verdict = 'pareto-improvement' | 'dominated' | 'trade-off' | 'no-difference';

/** Acc below this fraction of the start's Acc raises the degeneration alarm (§7.4). */
export const DEGENERATION_FRACTION = 0.5;

export interface Comparison {
  acc: Interval;
  reward: Interval;
  verdict: Verdict;
}

export interface VariantSummary {
  dataset: string;
  attribute: string;
  target: string;
  /** The variant's dropout, as its cells store it. */
  dropout: DropoutConfig;
  /** Its label (`quantile-0.8`): a key for tables, never parsed. */
  dropoutLabel: string;
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
  /** Acc and Reward from the start (epoch 0) through each epoch (Figure 3), over seeds. */
  byEpoch: Array<{ epoch: number; acc: Stat; reward: Stat }>;
  /** π before training, on the same prefixes. */
  start: { acc: Stat; reward: Stat; accPlusReward: Stat };
  /**
   * What the authors' table script reports (last-epoch figures on training samples: token
   * accuracy against β's samples, Reward of greedy generations); null when not measured.
   */
  authors: { tokenAccuracy: Stat; reward: Stat; accPlusReward: Stat } | null;
  /** Not dominated in (Acc, Reward) by another variant of the same dataset, attribute and target. */
  paretoOptimal: boolean;
  /** Against the start point, paired over prefixes and averaged over seeds. */
  versusStart: Comparison;
  /** Final Acc below {@link DEGENERATION_FRACTION} of the start's. */
  degenerated: boolean;
  /** Against `none`, paired over prefixes and averaged over common seeds; null for `none` itself. */
  versusNone: Comparison | null;
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
  const better = up(acc) || up(reward);
  const worse = down(acc) || down(reward);
  if (better && !worse) return 'pareto-improvement';
  if (worse && !better) return 'dominated';
  if (better && worse) return 'trade-off';
  return 'no-difference';
}

type PerSample = EvalResult['perSample'];

/** Per-prefix deltas a − b, averaged over the pairs (one pair per seed). */
function pairedDeltas(pairs: Array<[PerSample, PerSample]>, metric: 'acc' | 'reward'): number[] {
  if (pairs.length === 0) return [];
  const n = Math.min(...pairs.flatMap(([a, b]) => [a[metric].length, b[metric].length]));
  return Array.from(
    { length: n },
    (_, i) =>
      pairs.reduce((s, [a, b]) => s + (a[metric][i] as number) - (b[metric][i] as number), 0) /
      pairs.length,
  );
}

function compare(
  pairs: Array<[PerSample, PerSample]>,
  resamples: number,
  seed: string,
): Comparison {
  const acc = bootstrapMean(pairedDeltas(pairs, 'acc'), resamples, `${seed}/acc`);
  const reward = bootstrapMean(pairedDeltas(pairs, 'reward'), resamples, `${seed}/reward`);
  return { acc, reward, verdict: verdictOf(acc, reward) };
}

export function buildReport(
  spec: SweepSpec,
  results: CellResult[],
  options: { resamples?: number } = {},
): SweepReport {
  const resamples = options.resamples ?? 1000;
  const groups = new Map<string, CellResult[]>();
  for (const r of results) {
    const key = [r.cell.dataset, r.cell.attribute, r.cell.target, r.dropoutLabel].join('\u0000');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const variants: VariantSummary[] = [...groups.values()].map((rs) => {
    const first = rs[0] as CellResult;
    const summary = {
      dataset: first.cell.dataset,
      attribute: first.cell.attribute,
      target: first.cell.target,
      dropout: first.cell.dropout,
      dropoutLabel: first.dropoutLabel,
      seeds: rs.map((r) => r.cell.seed),
      cellIds: rs.map((r) => r.cell.id),
      byEpoch: [
        {
          epoch: 0,
          acc: stat(rs.map((r) => r.start.acc)),
          reward: stat(rs.map((r) => r.start.reward)),
        },
        ...[...new Set(rs.flatMap((r) => r.epochs.map((e) => e.epoch)))]
          .sort((a, b) => a - b)
          .map((epoch) => {
            const at = rs.flatMap((r) => r.epochs.filter((e) => e.epoch === epoch));
            return {
              epoch,
              acc: stat(at.map((e) => e.eval.acc)),
              reward: stat(at.map((e) => e.eval.reward)),
            };
          }),
      ],
      start: {
        acc: stat(rs.map((r) => r.start.acc)),
        reward: stat(rs.map((r) => r.start.reward)),
        accPlusReward: stat(rs.map((r) => r.start.accPlusReward)),
      },
      authors: authorsFigures(rs),
      paretoOptimal: false,
      versusStart: compare(
        rs.map((r) => [r.final.perSample, r.start.perSample]),
        resamples,
        `${rs[0]?.cell.pair}/${first.dropoutLabel}/start`,
      ),
      degenerated: false,
      versusNone: null,
    } as Omit<VariantSummary, (typeof METRICS)[number]> as VariantSummary;
    summary.degenerated =
      mean(rs.map((r) => r.final.acc)) < DEGENERATION_FRACTION * mean(rs.map((r) => r.start.acc));
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
    if (v.dropout.kind === 'none') continue;
    const none = variants.find((w) => same(w, v) && w.dropout.kind === 'none');
    if (!none) continue;
    const of = (s: VariantSummary) => results.filter((r) => s.cellIds.includes(r.cell.id));
    const noneBySeed = new Map(of(none).map((r) => [r.cell.seed, r]));
    const pairs = of(v).flatMap((r): Array<[PerSample, PerSample]> => {
      const base = noneBySeed.get(r.cell.seed);
      return base ? [[r.final.perSample, base.final.perSample]] : [];
    });
    v.versusNone = compare(
      pairs,
      resamples,
      `${v.dataset}/${v.attribute}/${v.target}/${v.dropoutLabel}`,
    );
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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** The last epoch's authors'-style figures over seeds, where every seed measured them. */
function authorsFigures(rs: CellResult[]): VariantSummary['authors'] {
  const last = rs.map((r) => r.epochs.at(-1)?.train ?? null);
  if (last.some((t) => t === null)) return null;
  const ts = last as NonNullable<(typeof last)[number]>[];
  return {
    tokenAccuracy: stat(ts.map((t) => t.tokenAccuracy)),
    reward: stat(ts.map((t) => t.reward)),
    accPlusReward: stat(ts.map((t) => t.accPlusReward)),
  };
}

const fmt = (s: Stat, digits = 3) =>
  s.sd > 0 ? `${s.mean.toFixed(digits)} ± ${s.sd.toFixed(digits)}` : s.mean.toFixed(digits);

/**
 * A Markdown table like the paper's Table 1 (rows: target × dropout, after a `start` row per
 * target: π before training; columns: dataset/attribute).
 */
export function tableMarkdown(
  report: SweepReport,
  metric: 'accPlusReward' | 'acc' | 'reward' = 'accPlusReward',
): string {
  const rows = [...new Set(report.variants.map((v) => `${v.target}\u0000${v.dropoutLabel}`))];
  const lines = [
    `| target | dropout | ${report.columns.join(' | ')} |`,
    `|---|---|${report.columns.map(() => '---').join('|')}|`,
  ];
  for (const target of new Set(report.variants.map((v) => v.target))) {
    const cells = report.columns.map((col) => {
      const v = report.variants.find(
        (x) => x.target === target && `${x.dataset}/${x.attribute}` === col,
      );
      return v ? fmt(v.start[metric]) : '–';
    });
    lines.push(`| ${target} | start | ${cells.join(' | ')} |`);
  }
  for (const row of rows) {
    const [target, dropout] = row.split('\u0000') as [string, string];
    const cells = report.columns.map((col) => {
      const v = report.variants.find(
        (x) =>
          x.target === target &&
          x.dropoutLabel === dropout &&
          `${x.dataset}/${x.attribute}` === col,
      );
      return v ? fmt(v[metric]) : '–';
    });
    lines.push(`| ${target} | ${dropout === 'none' ? 'N/A' : dropout} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/**
 * One row per cell and seed, for spreadsheets and pandas. The dropout is its label, its kind and
 * one column per parameter of the kinds present (`gamma`, `replacement`, `delta`), empty where a
 * kind does not take it.
 */
export function resultsCsv(results: CellResult[]): string {
  const parameters = [
    ...new Set(results.flatMap((r) => dropoutParameters(r.cell.dropout.kind).map(([n]) => n))),
  ];
  const header = [
    'cell',
    'dataset',
    'attribute',
    'target',
    'dropout',
    'kind',
    ...parameters,
    'seed',
    ...METRICS,
    'start_acc',
    'start_reward',
    'authors_token_accuracy',
    'authors_reward',
    'train_seconds',
  ];
  const rows = results.map((r) => [
    r.cell.id,
    r.cell.dataset,
    r.cell.attribute,
    r.cell.target,
    r.dropoutLabel,
    r.cell.dropout.kind,
    ...parameters.map((n) => (r.cell.dropout as Record<string, unknown>)[n] ?? ''),
    r.cell.seed,
    ...METRICS.map((m) => r.final[m]),
    r.start.acc,
    r.start.reward,
    r.epochs.at(-1)?.train?.tokenAccuracy ?? '',
    r.epochs.at(-1)?.train?.reward ?? '',
    r.trainSeconds.toFixed(1),
  ]);
  const quote = (v: unknown) =>
    typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : String(v);
  return `${[header, ...rows].map((row) => row.map(quote).join(',')).join('\n')}\n`;
}
