import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dropoutLabel, parseSweepSpec } from '@rdlab/core';
import type { EvalResult } from './evaluate.js';
import { bootstrapMean, buildReport, resultsCsv, tableMarkdown, verdictOf } from './report.js';
import { renderReportHtml } from './report-html.js';
import type { CellResult } from './train.js';

const spec = parseSweepSpec(`
datasets: [{ name: d, source: builtin:demo, attributes: [positive] }]
dropout: [{ kind: none }, { kind: quantile, gamma: 0.8 }, { kind: random, gamma: 0.8 }]
seeds: [1, 2]
`);

/** A fake evaluation whose per-prefix Acc and Reward are base + i·slope, plus a seed offset. */
function evaluation(seed: number, acc: number, reward: number): EvalResult {
  const n = 50;
  const perAcc = Array.from({ length: n }, (_, i) => acc + ((i % 5) - 2) * 0.01 + seed * 0.001);
  const perReward = Array.from({ length: n }, (_, i) => reward + ((i % 7) - 3) * 0.01);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    acc: mean(perAcc),
    reward: mean(perReward),
    accPlusReward: mean(perAcc) + mean(perReward),
    tokenAccuracy: 0.3,
    bleu: 0.1,
    rouge1: 0.3,
    rouge2: 0.2,
    rougeL: 0.3,
    meteor: 0.2,
    distinct1: 0.5,
    distinct2: 0.7,
    perSample: { acc: perAcc, reward: perReward },
    examples: [],
  };
}

/** A fake cell result; every cell starts from Acc 0.5, Reward 0.6 (π before training). */
function result(
  dropoutIndex: number,
  seed: number,
  acc: number,
  reward: number,
  startAcc = 0.5,
): CellResult {
  const label = ['none', 'quantile-0.8', 'random-0.8'][dropoutIndex]!;
  const cell = spec.cells.find((c) => c.seed === seed && dropoutLabel(c.dropout) === label)!;
  const final = evaluation(seed, acc, reward);
  const start = evaluation(seed, startAcc, 0.6);
  return {
    cell,
    dropoutLabel: label,
    final,
    start,
    epochs: [
      {
        epoch: 1,
        steps: 1,
        meanLoss: 0,
        keptFraction: 1,
        eval: final,
        train: { tokenAccuracy: 0.3, reward: reward, accPlusReward: 0.3 + reward },
      },
    ],
    trainSeconds: 1,
  };
}

describe('report', () => {
  const results = [1, 2].flatMap((seed) => [
    result(0, seed, 0.5, 0.6),
    result(1, seed, 0.6, 0.8),
    result(2, seed, 0.45, 0.62),
  ]);
  const report = buildReport(spec.spec, results, { resamples: 500 });
  const variant = (d: string) => report.variants.find((v) => v.dropoutLabel === d)!;

  it('averages seeds, and calls a rise in both objectives with intervals above zero a Pareto improvement', () => {
    assert.equal(report.variants.length, 3);
    assert.deepEqual(variant('quantile-0.8').seeds, [1, 2]);
    assert.ok(Math.abs(variant('quantile-0.8').acc.mean - 0.6015) < 1e-9);
    assert.equal(variant('quantile-0.8').versusNone?.verdict, 'pareto-improvement');
    assert.ok(variant('quantile-0.8').versusNone!.acc.low > 0);
    assert.equal(variant('random-0.8').versusNone?.verdict, 'trade-off'); // Acc down 0.05, Reward up 0.02
    assert.equal(variant('none').versusNone, null);
  });

  it('judges every variant against its start point, and raises the alarm when Acc collapses', () => {
    assert.equal(variant('quantile-0.8').versusStart.verdict, 'pareto-improvement');
    assert.equal(variant('none').versusStart.verdict, 'no-difference');
    assert.equal(variant('random-0.8').versusStart.verdict, 'trade-off');
    assert.ok(Math.abs(variant('none').start.acc.mean - 0.5015) < 1e-9);
    assert.deepEqual(
      variant('quantile-0.8').byEpoch.map((e) => e.epoch),
      [0, 1],
    );
    assert.equal(
      report.variants.some((v) => v.degenerated),
      false,
    );
    const collapsed = buildReport(
      spec.spec,
      [1, 2].map((seed) => result(1, seed, 0.2, 0.9)),
      { resamples: 200 },
    );
    assert.equal(collapsed.variants[0]?.degenerated, true);
    assert.equal(collapsed.variants[0]?.versusStart.verdict, 'trade-off');
    assert.match(renderReportHtml(collapsed), /Degeneration/);
  });

  it("carries the authors'-style last-epoch figures", () => {
    assert.ok(Math.abs(variant('quantile-0.8').authors!.reward.mean - 0.8) < 1e-9);
    assert.match(tableMarkdown(report), /\| small \| start \| 1\.10\d ± 0\.00\d \|/);
  });

  it('marks the variants on the Pareto front', () => {
    assert.equal(variant('quantile-0.8').paretoOptimal, true);
    assert.equal(variant('none').paretoOptimal, false);
    assert.equal(variant('random-0.8').paretoOptimal, false);
  });

  it('renders the Table 1 layout, the CSV and a self-contained HTML page', () => {
    const md = tableMarkdown(report);
    assert.match(md, /\| target \| dropout \| d\/positive \|/);
    assert.match(md, /\| small \| N\/A \| 1\.10\d ± 0\.00\d \|/);
    const csv = resultsCsv(results).trim().split('\n');
    assert.equal(csv.length, 7);
    assert.match(
      csv[0]!,
      /^cell,dataset,attribute,target,dropout,kind,gamma,replacement,seed,acc,reward/,
    );
    const random = csv.find((line) => line.includes(',random-0.8,'))!;
    assert.match(random, /,random-0\.8,random,0\.8,true,\d,/);
    const none = csv.find((line) => line.includes(',none,none,'))!;
    assert.match(none, /,none,none,,,\d,/);
    const html = renderReportHtml(report);
    assert.match(html, /<svg/);
    assert.match(html, /pareto-improvement/);
    assert.doesNotMatch(html, /<script|https?:\/\//);
  });
});

describe('verdicts and intervals', () => {
  it('bootstrap intervals contain the mean and shrink with more data', () => {
    const small = bootstrapMean([1, -1, 2, 0, 1], 1000, 's');
    const large = bootstrapMean(
      Array.from({ length: 500 }, (_, i) => [1, -1, 2, 0, 1][i % 5]!),
      1000,
      's',
    );
    assert.ok(small.low <= small.mean && small.mean <= small.high);
    assert.ok(large.high - large.low < small.high - small.low);
    assert.deepEqual(bootstrapMean([1, 2], 100, 'x'), bootstrapMean([1, 2], 100, 'x'));
  });

  it('reads intervals into verdicts', () => {
    const up = { mean: 1, low: 0.5, high: 1.5 };
    const down = { mean: -1, low: -1.5, high: -0.5 };
    const flat = { mean: 0, low: -1, high: 1 };
    assert.equal(verdictOf(up, up), 'pareto-improvement');
    // One better, neither worse: still a Pareto improvement (the paper's definition).
    assert.equal(verdictOf(up, flat), 'pareto-improvement');
    assert.equal(verdictOf(flat, up), 'pareto-improvement');
    assert.equal(verdictOf(down, down), 'dominated');
    // A significant Acc drop with Reward unchanged is dominated, not "no difference".
    assert.equal(verdictOf(down, flat), 'dominated');
    assert.equal(verdictOf(flat, down), 'dominated');
    assert.equal(verdictOf(up, down), 'trade-off');
    assert.equal(verdictOf(down, up), 'trade-off');
    assert.equal(verdictOf(flat, flat), 'no-difference');
  });
});
