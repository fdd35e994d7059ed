/**
 * The scheduler: a reconciler. Every tick it looks at each live experiment, works out from the
 * artifact store (what exists) and the queue (what is running or failed) which jobs its next
 * stage needs, and adds them with deterministic job ids:
 *
 *   prepare(dataset) → bootstrap(range) for every shard of an attribute → train(cell) once all
 *   of its attribute's shards exist → publish(experiment, cell) → report(experiment)
 *
 * The spec: the API resolves it once at submission and stores it in Postgres
 * (`experiments.spec_resolved`), each cell's settings on its row. The scheduler never parses or
 * expands it again (rows from before settings were stored are the exception): it writes that
 * resolved spec, as stored, to the artifact store at `specKeyOf(spec)`, where the workers read
 * it (every job's `specKey`).
 *
 * Why not BullMQ flows: a flow is a tree, but every train job of an attribute waits for all of
 * its shards, and two experiments share shards and cells (BullMQ refuses a second live parent for
 * an existing child). Here sharing is free: a shard or cell is one job id, whoever asks first,
 * and an artifact that exists is never asked for. The reconciler keeps no state of its own, so
 * it can restart at any time, and Redis may restart under it (AOF).
 *
 * Fair share: an experiment has at most `maxInFlightPerExperiment` jobs waiting or running; the
 * rest wait in Postgres, not in the queue. A small sweep submitted after a huge one therefore
 * starts after at most that many jobs of each experiment ahead of it.
 */
import { type SweepSpec, sweepSpecSchema } from '@rdlab/core';
import type { Cell, Db, Experiment, Repositories } from '@rdlab/db';
import { catalogJob, JOB_ID_SEPARATOR, type JobName, type JobPayload, jobId } from '@rdlab/jobs';
import { cellResultKey, manifestKey, type PreparedManifest, specKeyOf } from '@rdlab/plan';
import { type ArtifactStore, getJson, putJson } from '@rdlab/store';
import type { Queue } from 'bullmq';

export interface SchedulerOptions {
  /** Jobs of one experiment waiting or running at once. @defaultValue 4 */
  maxInFlightPerExperiment?: number;
  log?: (line: string) => void;
}

/** One job an experiment needs now, and what fails if it fails for good. */
interface Need {
  /** The job's name, which is also its stage's (the stage-job row's kind). */
  name: JobName;
  id: string;
  /** The id the same job had under its legacy name (it may still be in Redis). */
  legacyId?: string;
  data: JobPayload<JobName>;
  cellId: string | null;
  /** Cells that cannot finish if this job fails for good. */
  dependents: string[];
}

const IN_FLIGHT = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export class Scheduler {
  private readonly cap: number;
  /** Artifacts seen to exist: keys are immutable, so a yes stays a yes. */
  private readonly existing = new Set<string>();
  private readonly specs = new Map<string, SweepSpec>();
  private readonly log: (line: string) => void;

  constructor(
    private readonly db: Db,
    private readonly repos: Repositories,
    private readonly store: ArtifactStore,
    private readonly queue: Queue,
    options: SchedulerOptions = {},
  ) {
    this.cap = options.maxInFlightPerExperiment ?? 4;
    if (!(Number.isInteger(this.cap) && this.cap >= 1))
      throw new RangeError(`maxInFlightPerExperiment must be an integer ≥ 1, got ${this.cap}`);
    this.log = options.log ?? (() => {});
  }

  /** One pass over the live experiments, oldest first. Returns the jobs it added. */
  async tick(): Promise<number> {
    const live = await this.db.experiment.findMany({
      where: { status: { in: ['queued', 'running'] } },
      orderBy: { createdAt: 'asc' },
    });
    let added = 0;
    for (const experiment of live) added += await this.advance(experiment);
    return added;
  }

  private async exists(key: string): Promise<boolean> {
    if (this.existing.has(key)) return true;
    if (!(await this.store.exists(key))) return false;
    this.existing.add(key);
    return true;
  }

  /**
   * The experiment's spec as it was resolved at submission. Its cells carry their settings, so
   * nothing is parsed or expanded again: a schema default changed since then cannot change a
   * running experiment. Experiments stored before cells carried settings are parsed as before.
   */
  private specOf(experiment: Experiment, rows: Cell[]): SweepSpec {
    let spec = this.specs.get(experiment.id);
    if (!spec) {
      const resolved = rows.length > 0 && rows.every((row) => row.settings !== null);
      spec = resolved
        ? (experiment.specResolved as unknown as SweepSpec)
        : sweepSpecSchema.parse(experiment.specResolved);
      this.specs.set(experiment.id, spec);
    }
    return spec;
  }

  /** The jobs an experiment needs now, in pipeline order. */
  private async needs(experiment: Experiment, spec: SweepSpec, rows: Cell[]): Promise<Need[]> {
    // Workers read the resolved spec from the store; this copies Postgres's (resolved at submission).
    const specKey = specKeyOf(spec);
    if (!(await this.exists(specKey))) await putJson(this.store, specKey, spec);
    const open = rows.filter((c) => c.status === 'pending' || c.status === 'running');
    const base = { version: 1 as const, experimentId: experiment.id, specKey };
    const needs: Need[] = [];
    if (open.length === 0) {
      needs.push({
        name: 'report',
        id: jobId('report', experiment.id),
        data: base,
        cellId: null,
        dependents: [],
      });
      return needs;
    }
    for (const dataset of spec.datasets) {
      const mine = open.filter((c) => c.dataset === dataset.name);
      if (mine.length === 0) continue;
      const key = manifestKey(spec, dataset.name);
      if (!(await this.exists(key))) {
        needs.push({
          name: 'prepare',
          id: jobId('prepare', key),
          data: { ...base, dataset: dataset.name },
          cellId: null,
          dependents: mine.map((c) => c.id),
        });
        continue;
      }
      const manifest = await getJson<PreparedManifest>(this.store, key);
      for (const attribute of dataset.attributes) {
        const cells = mine.filter((c) => c.attribute === attribute);
        const entry = manifest.attributes[attribute];
        if (cells.length === 0 || !entry) continue;
        let shardsReady = true;
        for (const shard of entry.shards) {
          if (await this.exists(shard.key)) continue;
          shardsReady = false;
          needs.push({
            name: 'bootstrap',
            id: jobId('bootstrap', shard.key),
            legacyId: `shard${JOB_ID_SEPARATOR}${shard.key}`,
            data: {
              ...base,
              dataset: dataset.name,
              attribute,
              start: shard.start,
              end: shard.end,
              shardKey: shard.key,
            },
            cellId: null,
            dependents: cells.map((c) => c.id),
          });
        }
        if (!shardsReady) continue;
        for (const cell of cells) {
          needs.push(
            (await this.exists(cellResultKey(cell.id)))
              ? {
                  name: 'publish',
                  id: jobId('publish', experiment.id, cell.id),
                  legacyId: ['evaluate', experiment.id, cell.id].join(JOB_ID_SEPARATOR),
                  data: { ...base, cellId: cell.id },
                  cellId: cell.id,
                  dependents: [cell.id],
                }
              : {
                  name: 'train',
                  id: jobId('train', cell.id),
                  data: { ...base, cellId: cell.id },
                  cellId: cell.id,
                  dependents: [cell.id],
                },
          );
        }
      }
    }
    return needs;
  }

  /** Adds what an experiment needs, within its in-flight cap; fails cells whose job failed. */
  async advance(experiment: Experiment): Promise<number> {
    const rows = await this.repos.cells.listCells(experiment.id);
    let spec: SweepSpec;
    try {
      spec = this.specOf(experiment, rows);
    } catch (error) {
      // A spec the workers cannot read fails its experiment, not the scheduler. Nothing else
      // does: a store or database away for a while throws out of the tick, which is retried.
      const message = `cannot schedule: ${(error as Error).message}`;
      this.log(`${experiment.id}: ${message}`);
      await this.repos.experiments.updateExperimentStatus(experiment.id, 'failed', {
        error: message,
        onlyFrom: ['queued', 'running'],
      });
      return 0;
    }
    const needs = await this.needs(experiment, spec, rows);
    let inFlight = 0;
    const toAdd: Need[] = [];
    for (const need of needs) {
      const state = await this.stateOf(need);
      if (IN_FLIGHT.has(state)) {
        inFlight += 1;
        await this.record(experiment.id, need);
      } else if (state === 'failed') {
        await this.failed(experiment, need);
      } else if (state === 'completed' && need.name === 'report') {
        // The report job sets the final status; nothing to add.
      } else if (state === 'completed' && need.name === 'publish') {
        // The worker marked the cell; the next tick sees it closed.
      } else {
        toAdd.push(need);
      }
    }
    let added = 0;
    for (const need of toAdd) {
      if (inFlight >= this.cap) break;
      const job = catalogJob(need.name, need.data as never, { jobId: need.id });
      await this.record(experiment.id, need);
      await this.queue.add(job.name, job.data, job.opts);
      inFlight += 1;
      added += 1;
    }
    if (added > 0 && experiment.status === 'queued')
      await this.repos.experiments.updateExperimentStatus(experiment.id, 'running', {
        onlyFrom: ['queued'],
      });
    return added;
  }

  /**
   * The job's state in the queue; when it is unknown there, the state of the same job under its
   * legacy name (added before the rename and not yet finished or removed), which then stands in
   * for it: its `id` becomes the legacy one, so failures and rows refer to the job that exists.
   */
  private async stateOf(need: Need) {
    const state = await this.queue.getJobState(need.id);
    if (state !== 'unknown' || !need.legacyId) return state;
    const legacy = await this.queue.getJobState(need.legacyId);
    if (legacy !== 'unknown') need.id = need.legacyId;
    return legacy;
  }

  /** The job's row in this experiment (shared jobs have one per experiment). */
  private async record(experimentId: string, need: Need) {
    await this.repos.stageJobs.upsertStageJob({
      experimentId,
      key: need.id,
      kind: need.name,
      cellId: need.cellId,
    });
  }

  /**
   * A job that failed for good: retried once for an experiment submitted after the failure
   * (what failed then may work now), else its dependent cells fail and the rest go on.
   */
  private async failed(experiment: Experiment, need: Need) {
    const job = await this.queue.getJob(need.id);
    if (job?.finishedOn && job.finishedOn < experiment.createdAt.getTime()) {
      await job.retry('failed');
      return;
    }
    const reason = `${need.name} job ${need.id} failed: ${job?.failedReason ?? 'unknown error'}`;
    this.log(`${experiment.id}: ${reason}`);
    if (need.name === 'report') {
      await this.repos.experiments.updateExperimentStatus(experiment.id, 'failed', {
        error: reason,
        onlyFrom: ['queued', 'running'],
      });
      return;
    }
    for (const cellId of need.dependents) {
      await this.db.cell.updateMany({
        where: { experimentId: experiment.id, id: cellId, status: { in: ['pending', 'running'] } },
        data: { status: 'failed' },
      });
    }
    await this.db.stageJob.updateMany({
      where: { experimentId: experiment.id, key: need.id },
      data: { state: 'failed', error: reason.slice(0, 2000) },
    });
  }

  /** Forgets cached specs of experiments that are no longer live. */
  forget(experimentId: string) {
    this.specs.delete(experimentId);
  }
}
