/**
 * The stages as independent jobs, for workers that share nothing but the artifact store: each
 * job reads what it needs from the store by content address and leaves its output there, so any
 * worker can run any job, a job whose output exists does nothing, and two experiments that need
 * the same work share it.
 *
 *   prepare(dataset)            → tokenizer, β, R; per attribute the training prefixes, the shard
 *                                 plan and the evaluation set; a manifest at `manifestKey`
 *   shard(dataset, attr, range) → one shard of behaviour samples (`ShardPlan.key`)
 *   train(cell)                 → the cell's checkpoints and `cells/<id>/result.json`
 *   report(experiment)          → report.html, results.json, results.csv under a prefix
 *
 * The same stage functions as `runSweep`, so a sweep run as jobs gives the same numbers.
 */
import {
  type Cell,
  type CellSettings,
  cellId,
  contentHash,
  expandSweep,
  pairId,
  type SweepSpec,
} from '@rdlab/core';
import type { Prefix } from '@rdlab/data';
import {
  datasetContent,
  datasetOf,
  evalSetKey,
  manifestKey,
  type PreparedManifest,
  prefixesKey,
} from '@rdlab/plan';
import { type ArtifactStore, getJson, maybeJson, putJson } from '@rdlab/store';
import { planShards, runShard, trainingPrefixes } from './bootstrap.js';
import { buildEvalSet } from './eval-set.js';
import type { StageContext } from './ports.js';
import { disposePrepared, type PreparedDataset, prepare } from './prepare.js';
import { buildReport, resultsCsv, type SweepReport } from './report.js';
import { renderReportHtml } from './report-html.js';
import { type BehaviorSample, decodeShard } from './shard-file.js';
import { type CellResult, readCellResult, trainCell } from './train.js';

const short = (value: unknown) => contentHash(value).slice(0, 24);

/**
 * Prepared datasets kept between the jobs of one worker process: a shard or train job of a
 * dataset the worker has seen skips re-reading the dataset and re-loading β and R. A few at
 * most (models are large); the least recently used one is disposed.
 */
export class PreparedCache {
  private readonly entries = new Map<string, Promise<PreparedDataset>>();

  constructor(private readonly capacity = 2) {}

  get(ctx: StageContext, spec: SweepSpec, datasetName: string): Promise<PreparedDataset> {
    const dataset = datasetOf(spec, datasetName);
    const key = short({
      dataset: datasetContent(dataset),
      behavior: spec.behavior,
      rewardModel: spec.rewardModel,
      maxLength: spec.training.maxLength,
    });
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else entry = prepare(ctx, spec, dataset);
    this.entries.set(key, entry); // most recent last
    entry.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const [oldest, evicted] = this.entries.entries().next().value as [
        string,
        Promise<PreparedDataset>,
      ];
      this.entries.delete(oldest);
      void evicted.then(disposePrepared, () => {});
    }
    return entry;
  }

  dispose(): void {
    for (const entry of this.entries.values()) void entry.then(disposePrepared, () => {});
    this.entries.clear();
  }
}

/** The dataset prepared, from the cache when one is given (then not the caller's to dispose). */
async function withPrepared<T>(
  ctx: StageContext,
  spec: SweepSpec,
  datasetName: string,
  cache: PreparedCache | undefined,
  fn: (prepared: PreparedDataset) => Promise<T>,
): Promise<T> {
  if (cache) return fn(await cache.get(ctx, spec, datasetName));
  const prepared = await prepare(ctx, spec, datasetOf(spec, datasetName));
  try {
    return await fn(prepared);
  } finally {
    disposePrepared(prepared);
  }
}

/** Job `prepare`: the dataset's models, and per attribute its prefixes, shard plan and eval set. */
export async function prepareJob(
  ctx: StageContext,
  spec: SweepSpec,
  datasetName: string,
): Promise<PreparedManifest> {
  const key = manifestKey(spec, datasetName);
  const done = await maybeJson<PreparedManifest>(ctx.store, key);
  if (done) return done;
  const prepared = await prepare(ctx, spec, datasetOf(spec, datasetName));
  try {
    const manifest: PreparedManifest = {
      dataset: datasetName,
      keys: prepared.keys,
      classes: prepared.classes,
      rewardAccuracy: prepared.rewardAccuracy,
      attributes: {},
    };
    for (const attribute of prepared.dataset.attributes) {
      const { prefixes } = trainingPrefixes(spec, prepared, attribute);
      const shards = planShards(spec, prepared, attribute, prefixes.length);
      const selection = prefixesKey(shards);
      if (!(await ctx.store.exists(selection))) await putJson(ctx.store, selection, prefixes);
      await buildEvalSet(ctx, spec, prepared, attribute);
      manifest.attributes[attribute] = {
        prefixCount: prefixes.length,
        prefixesKey: selection,
        shards,
        evalSetKey: evalSetKey(spec, prepared.dataset, attribute, prepared.keys),
      };
    }
    await putJson(ctx.store, key, manifest);
    return manifest;
  } finally {
    disposePrepared(prepared);
  }
}

function attributeOf(manifest: PreparedManifest, attribute: string) {
  const entry = manifest.attributes[attribute];
  if (!entry) throw new Error(`dataset ${manifest.dataset} has no attribute '${attribute}'`);
  return entry;
}

/** Job `shard`: one shard of behaviour samples. Returns whether it sampled (false: it existed). */
export async function shardJob(
  ctx: StageContext,
  spec: SweepSpec,
  datasetName: string,
  attribute: string,
  shardKey: string,
  cache?: PreparedCache,
): Promise<boolean> {
  if (await ctx.store.exists(shardKey)) return false;
  const manifest = await getJson<PreparedManifest>(ctx.store, manifestKey(spec, datasetName));
  const entry = attributeOf(manifest, attribute);
  const plan = entry.shards.find((s) => s.key === shardKey);
  if (!plan) throw new Error(`shard ${shardKey} is not in the plan of ${datasetName}/${attribute}`);
  const prefixes = await getJson<Prefix[]>(ctx.store, entry.prefixesKey);
  return withPrepared(ctx, spec, datasetName, cache, (prepared) =>
    runShard(ctx, spec, prepared, plan, prefixes),
  );
}

/** A stored cell whose settings do not hash to its id (a row edited, or written wrongly). */
export class CellSettingsError extends Error {
  readonly code = 'RDLAB_CELL_SETTINGS_MISMATCH';
}

/**
 * A cell as its experiment's submission resolved it: the row's names and the settings stored
 * beside them. Nothing is parsed or expanded, so a schema default changed since submission
 * cannot change what runs; the settings must still hash to the cell's id.
 */
export function storedCell(row: {
  id: string;
  index: number;
  dataset: string;
  attribute: string;
  target: string;
  settings: CellSettings;
}): Cell {
  const { settings } = row;
  if (cellId(settings) !== row.id)
    throw new CellSettingsError(
      `cell ${row.id}: its stored settings hash to ${cellId(settings)}, not to its id`,
    );
  return {
    id: row.id,
    index: row.index,
    dataset: row.dataset,
    attribute: row.attribute,
    target: row.target,
    dropout: settings.dropout,
    seed: settings.seed,
    pair: pairId(settings),
  };
}

/**
 * A cell found by expanding the spec again: for experiments stored before their cells carried
 * their settings (see `cellFromSettings`), and for callers that hold only a spec.
 */
export function findCell(spec: SweepSpec, cellId: string): Cell {
  const cell = expandSweep(spec).find((c) => c.id === cellId);
  if (!cell) throw new Error(`the spec has no cell ${cellId}`);
  return cell;
}

/** Job `train`: one cell, resumed from its latest checkpoint when one exists. */
export async function trainJob(
  ctx: StageContext,
  spec: SweepSpec,
  cell: Cell,
  cache?: PreparedCache,
): Promise<CellResult> {
  const done = await cellResult(ctx.store, cell.id);
  if (done) return done;
  const manifest = await getJson<PreparedManifest>(ctx.store, manifestKey(spec, cell.dataset));
  const entry = attributeOf(manifest, cell.attribute);
  return withPrepared(ctx, spec, cell.dataset, cache, async (prepared) => {
    const samples: BehaviorSample[] = [];
    for (const shard of entry.shards)
      samples.push(...decodeShard(await ctx.store.get(shard.key)).samples);
    const evalSet = await buildEvalSet(ctx, spec, prepared, cell.attribute);
    return trainCell(ctx, spec, prepared, cell, samples, evalSet);
  });
}

export function cellResult(store: ArtifactStore, cellId: string): Promise<CellResult | null> {
  return readCellResult(store, cellId);
}

/** Job `report`: the experiment's tables and page from its finished cells' results. */
export async function reportJob(
  ctx: StageContext,
  spec: SweepSpec,
  cellIds: string[],
  prefix: string,
): Promise<SweepReport> {
  const results: CellResult[] = [];
  for (const id of cellIds) {
    const r = await cellResult(ctx.store, id);
    if (r) results.push(r);
  }
  const report = buildReport(spec, results);
  await putJson(ctx.store, `${prefix}/results.json`, { report, results });
  await ctx.store.put(`${prefix}/results.csv`, new TextEncoder().encode(resultsCsv(results)));
  await ctx.store.put(`${prefix}/report.html`, new TextEncoder().encode(renderReportHtml(report)));
  return report;
}
