/**
 * One stage job with real ports: the artifact store, the Postgres metrics sink and results, and
 * progress into the BullMQ job. No BullMQ here, so it runs in the sandboxed processor and in
 * tests alike.
 *
 *   prepare   → the dataset's manifest (models, prefixes, shard plan, eval sets)
 *   bootstrap → one shard of behaviour samples
 *   train     → one cell, resumed from its latest checkpoint (it evaluates every epoch)
 *   publish   → the cell's evaluations (start and every epoch) and examples into Postgres
 *   report   → report.html, results.json, results.csv; the experiment's final status
 */
import type { CellSettings, SweepSpec } from '@rdlab/core';
import type { Repositories } from '@rdlab/db';
import { PostgresMetricsSink } from '@rdlab/db';
import type { JobName } from '@rdlab/jobs';
import { parsePayload } from '@rdlab/jobs';
import {
  cellResult,
  findCell,
  newCounters,
  type PreparedCache,
  type Progress,
  prepareJob,
  reportJob,
  type StageContext,
  shardJob,
  storedCell,
  trainJob,
  type WorkCounters,
} from '@rdlab/pipeline';
import { experimentPrefix } from '@rdlab/plan';
import { type ArtifactStore, getJson } from '@rdlab/store';

/** What a job reports as BullMQ progress: the stage's current task. */
export interface JobProgress {
  label: string;
  done: number;
  total: number;
  unit: string;
  note?: string;
}

export interface StageDeps {
  store: ArtifactStore;
  repos: Repositories;
  /** The Prisma client the metrics sink writes with. */
  db: ConstructorParameters<typeof PostgresMetricsSink>[0];
  baseDir: string;
  workDir: string;
  signal?: AbortSignal;
  /** Stop at the next step boundary after a checkpoint (a worker shutting down). */
  release?: AbortSignal;
  progress?: (progress: JobProgress) => void;
  log?: (line: string) => void;
  /** Datasets prepared by earlier jobs of this process. */
  prepared?: PreparedCache;
}

/** What a finished job returns (BullMQ's return value: small JSON). */
export interface StageOutcome {
  counters: WorkCounters;
  /** Behaviour samples drawn, or trained on (batches × batch size). */
  samples: number;
  /** Token positions processed: sampled continuations, or training batches (padding included). */
  tokens: number;
  [detail: string]: unknown;
}

const specs = new Map<string, SweepSpec>();

/**
 * The resolved spec a job names, read once per process (specs are immutable by key). Not
 * parsed again: it was resolved when its experiment was submitted (or, for experiments stored
 * before cells carried their settings, by the scheduler), and parsing it with this build's
 * schema would give a running experiment defaults it was not submitted with.
 */
export async function loadSpec(store: ArtifactStore, key: string): Promise<SweepSpec> {
  let spec = specs.get(key);
  if (!spec) {
    spec = await getJson<SweepSpec>(store, key);
    specs.set(key, spec);
  }
  return spec;
}

/** The cell a train job names: its row's settings, or, on rows older than those, the spec's. */
async function cellOf(deps: StageDeps, spec: SweepSpec, experimentId: string, id: string) {
  const row = await deps.repos.cells.getCell(experimentId, id);
  if (row?.settings) return storedCell({ ...row, settings: row.settings as CellSettings });
  return findCell(spec, id);
}

/** Job progress from the stage's tasks, at most one update a second. */
function progressPort(deps: StageDeps): Progress {
  const tasks = new Map<string, JobProgress>();
  let last = 0;
  const send = (task: JobProgress, force = false) => {
    const now = Date.now();
    if (!deps.progress || (!force && now - last < 1000)) return;
    last = now;
    deps.progress({ ...task });
  };
  return {
    start(task) {
      const p = { label: task.label, done: 0, total: task.total, unit: task.unit };
      tasks.set(task.id, p);
      send(p, true);
    },
    advance(id, amount = 1, note) {
      const p = tasks.get(id);
      if (!p) return;
      p.done += amount;
      if (note !== undefined) p.note = note;
      send(p);
    },
    finish(id) {
      const p = tasks.get(id);
      if (p) send({ ...p, done: p.total }, true);
      tasks.delete(id);
    },
    log(line) {
      deps.log?.(line);
    },
  };
}

export async function runStage(
  name: JobName,
  data: unknown,
  deps: StageDeps,
): Promise<StageOutcome> {
  const payload = parsePayload(name, data);
  const spec = await loadSpec(deps.store, payload.specKey);
  const metrics = new PostgresMetricsSink(deps.db, { experimentId: payload.experimentId });
  const ctx: StageContext = {
    store: deps.store,
    metrics,
    progress: progressPort(deps),
    baseDir: deps.baseDir,
    workDir: deps.workDir,
    counters: newCounters(),
    ...(deps.signal ? { signal: deps.signal } : {}),
    ...(deps.release ? { release: deps.release } : {}),
  };
  try {
    const detail = await dispatch(name, payload as never, spec, ctx, deps);
    const { batchSize, maxLength, prefixLength } = spec.training;
    const tokens =
      ctx.counters.sampledSequences * (maxLength - prefixLength) +
      ctx.counters.trainSteps * batchSize * maxLength;
    const samples = ctx.counters.sampledSequences + ctx.counters.trainSteps * batchSize;
    return { counters: ctx.counters, samples, tokens, ...detail };
  } finally {
    await metrics.close();
  }
}

type Payloads = {
  [N in JobName]: ReturnType<typeof parsePayload<N>>;
};

async function dispatch(
  name: JobName,
  payload: Payloads[JobName],
  spec: SweepSpec,
  ctx: StageContext,
  deps: StageDeps,
): Promise<Record<string, unknown>> {
  const { repos } = deps;
  switch (name) {
    case 'prepare': {
      const p = payload as Payloads['prepare'];
      const manifest = await prepareJob(ctx, spec, p.dataset);
      return { dataset: manifest.dataset, rewardAccuracy: manifest.rewardAccuracy };
    }
    case 'bootstrap': {
      const p = payload as Payloads['bootstrap'];
      const sampled = await shardJob(ctx, spec, p.dataset, p.attribute, p.shardKey, deps.prepared);
      return { sampled };
    }
    case 'train': {
      const p = payload as Payloads['train'];
      await repos.cells.updateCell(p.experimentId, p.cellId, { status: 'running' });
      const cell = await cellOf(deps, spec, p.experimentId, p.cellId);
      const result = await trainJob(ctx, spec, cell, deps.prepared);
      return { epochs: result.epochs.length, acc: result.final.acc, reward: result.final.reward };
    }
    case 'publish': {
      const p = payload as Payloads['publish'];
      return publishEvaluation(deps, p.experimentId, p.cellId);
    }
    case 'report': {
      const p = payload as Payloads['report'];
      const cells = await repos.cells.listCells(p.experimentId);
      const report = await reportJob(
        ctx,
        spec,
        cells.filter((c) => c.status === 'succeeded').map((c) => c.id),
        experimentPrefix(p.experimentId),
      );
      const succeeded = cells.filter((c) => c.status === 'succeeded').length;
      const status =
        succeeded === cells.length ? 'succeeded' : succeeded === 0 ? 'failed' : 'partial';
      await repos.experiments.updateExperimentStatus(p.experimentId, status, {
        onlyFrom: ['queued', 'running'],
        ...(status === 'succeeded'
          ? {}
          : { error: `${cells.length - succeeded} of ${cells.length} cells did not finish` }),
      });
      return { status, variants: report.variants.length };
    }
  }
}

/**
 * The cell's evaluations into Postgres: the start point (epoch 0) and every epoch, with the
 * authors'-style training figures beside the held-out ones, and the final examples.
 */
async function publishEvaluation(deps: StageDeps, experimentId: string, cellId: string) {
  const result = await cellResult(deps.store, cellId);
  if (!result) throw new Error(`cell ${cellId} has no result yet: its train job has not finished`);
  const { repos } = deps;
  const { perSample: _p, examples: _e, ...start } = result.start;
  const rows = [
    { epoch: 0, metrics: start },
    ...result.epochs.map((e) => ({
      epoch: e.epoch,
      metrics: {
        ...e.eval,
        meanLoss: e.meanLoss,
        keptFraction: e.keptFraction,
        ...(e.train ? { authors: e.train } : {}),
      },
    })),
  ];
  for (const row of rows) {
    await repos.results.upsertEvalResult({
      experimentId,
      cellId,
      epoch: row.epoch,
      metrics: row.metrics,
      acc: row.metrics.acc,
      reward: row.metrics.reward,
    });
  }
  const finalEpoch = result.epochs.at(-1)?.epoch ?? 0;
  await repos.results.replaceExamples(
    experimentId,
    cellId,
    finalEpoch,
    result.final.examples.map((e) => ({
      prefix: e.prefix,
      text: e.generation,
      reward: e.reward,
      acc: e.acc,
    })),
  );
  await repos.cells.updateCell(experimentId, cellId, {
    status: 'succeeded',
    epochsDone: finalEpoch,
  });
  return { epochs: finalEpoch, acc: result.final.acc, reward: result.final.reward };
}
