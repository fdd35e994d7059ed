/** A small report and cells as the API returns them, for the grid and scatter tests. */
import { parseDropoutLabel } from '@rdlab/core';
import type { CellSummary, Comparison, Report, ReportVariant, Verdict } from '../src/types.js';

const s = (mean: number, sd = 0) => ({ mean, sd });
const cmp = (verdict: Verdict): Comparison => ({
  acc: { mean: 0, low: -0.1, high: 0.1 },
  reward: { mean: 0, low: -0.1, high: 0.1 },
  verdict,
});

export function variant(
  attribute: string,
  dropout: string,
  acc: number,
  reward: number,
  extra: Partial<ReportVariant> = {},
): ReportVariant {
  const config = parseDropoutLabel(dropout);
  return {
    dataset: 'demo',
    attribute,
    target: 'tiny',
    dropout: config,
    dropoutLabel: dropout,
    seeds: [1],
    cellIds: [`c-${attribute}-${dropout}`],
    acc: s(acc),
    reward: s(reward),
    accPlusReward: s(acc + reward),
    tokenAccuracy: s(0.3),
    bleu: s(0.1),
    rouge1: s(0.3),
    rouge2: s(0.2),
    rougeL: s(0.3),
    meteor: s(0.2),
    distinct1: s(0.5),
    distinct2: s(0.7),
    authors: null,
    byEpoch: [
      { epoch: 0, acc: s(0.3), reward: s(0.4) },
      { epoch: 2, acc: s(acc), reward: s(reward) },
    ],
    start: { acc: s(0.3), reward: s(0.4), accPlusReward: s(0.7) },
    paretoOptimal: false,
    versusStart: cmp('pareto-improvement'),
    degenerated: false,
    versusNone: config.kind === 'none' ? null : cmp('trade-off'),
    ...extra,
  };
}

export const REPORT: Report = {
  name: 'web',
  settings: {},
  columns: ['demo/negative', 'demo/positive'],
  variants: [
    variant('negative', 'none', 0.25, 0.8, { paretoOptimal: true }),
    variant('negative', 'quantile-0.5', 0.35, 0.7, { paretoOptimal: true }),
    variant('negative', 'random-0.8', 0.2, 0.6, { versusNone: cmp('dominated') }),
    variant('positive', 'none', 0.1, 0.9, { degenerated: true, paretoOptimal: true }),
    variant('positive', 'quantile-0.5', 0.32, 0.85, { paretoOptimal: true }),
  ],
};

export function cell(
  index: number,
  attribute: string,
  dropout: string,
  seed: number,
  latest: { epoch: number; acc: number; reward: number } | null,
  start: { acc: number; reward: number } | null = { acc: 0.3 + seed / 100, reward: 0.4 },
): CellSummary {
  return {
    id: `c${index}`,
    index,
    dataset: 'demo',
    attribute,
    target: 'tiny',
    dropout: parseDropoutLabel(dropout),
    dropoutLabel: dropout,
    seed,
    status: latest ? 'running' : 'pending',
    epochsDone: latest?.epoch ?? 0,
    start,
    latest,
  };
}
