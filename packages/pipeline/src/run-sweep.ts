/**
 * A whole sweep in one process, stage by stage: for each dataset `prepare`; for each attribute
 * the `bootstrap` shards and the evaluation set; then `train` (with its per-epoch `evaluate`) for
 * each of the attribute's cells. Every stage skips work whose artifact exists, so running the same
 * spec again recomputes nothing and an interrupted run resumes where it stopped.
 */
import { type Cell, resolveDataset, type SweepSpec } from '@rdlab/core';
import { planShards, runShard, trainingPrefixes } from './bootstrap.js';
import { buildEvalSet } from './eval-set.js';
import type { StageContext } from './ports.js';
import { disposePrepared, prepare } from './prepare.js';
import { type BehaviorSample, decodeShard } from './shard-file.js';
import { type CellResult, trainCell } from './train.js';

export interface DatasetSummary {
  dataset: string;
  keys: { tokenizer: string; behavior: string; reward: string };
  rewardAccuracy: number | null;
  /** Training prefixes per attribute (fewer than asked when the data runs out). */
  prefixes: Record<string, number>;
  shards: Record<string, string[]>;
}

export interface SweepRun {
  results: CellResult[];
  datasets: DatasetSummary[];
}

export async function runSweep(
  ctx: StageContext,
  spec: SweepSpec,
  cells: Cell[],
): Promise<SweepRun> {
  const results: CellResult[] = [];
  const datasets: DatasetSummary[] = [];
  ctx.progress.start({ id: 'cells', label: 'cells', total: cells.length, unit: 'cells' });
  for (const datasetSpec of spec.datasets) {
    const mine = cells.filter((c) => c.dataset === datasetSpec.name);
    if (mine.length === 0) continue;
    const prepared = await prepare(ctx, spec, resolveDataset(datasetSpec));
    const summary: DatasetSummary = {
      dataset: datasetSpec.name,
      keys: prepared.keys,
      rewardAccuracy: prepared.rewardAccuracy,
      prefixes: {},
      shards: {},
    };
    try {
      for (const attribute of datasetSpec.attributes) {
        const attributeCells = mine.filter((c) => c.attribute === attribute);
        if (attributeCells.length === 0) continue;
        const selection = trainingPrefixes(spec, prepared, attribute);
        if (selection.prefixes.length < spec.bootstrap.prefixesPerAttribute) {
          ctx.progress.log(
            `${datasetSpec.name}/${attribute}: ${selection.prefixes.length} training prefixes (asked for ${spec.bootstrap.prefixesPerAttribute}; ${selection.counts.fitting} of ${selection.counts.read} sentences fit ${spec.training.maxLength} tokens)`,
          );
        }
        const plans = planShards(spec, prepared, attribute, selection.prefixes.length);
        for (const plan of plans) await runShard(ctx, spec, prepared, plan, selection.prefixes);
        summary.prefixes[attribute] = selection.prefixes.length;
        summary.shards[attribute] = plans.map((p) => p.key);
        const samples: BehaviorSample[] = [];
        for (const plan of plans)
          samples.push(...decodeShard(await ctx.store.get(plan.key)).samples);
        const evalSet = await buildEvalSet(ctx, spec, prepared, attribute);
        for (const cell of attributeCells) {
          results.push(await trainCell(ctx, spec, prepared, cell, samples, evalSet));
          ctx.progress.advance('cells', 1, `${cell.dataset}/${cell.attribute}`);
        }
      }
    } finally {
      disposePrepared(prepared);
    }
    datasets.push(summary);
  }
  ctx.progress.finish('cells');
  // Results in expansion order, whatever order the stages ran in.
  const order = new Map(cells.map((c, i) => [c.id, i]));
  results.sort((a, b) => (order.get(a.cell.id) ?? 0) - (order.get(b.cell.id) ?? 0));
  return { results, datasets };
}
