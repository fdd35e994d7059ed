/**
 * Cancelling an experiment. Postgres is the truth, so it changes first, in one transaction: the
 * experiment becomes `cancelled` (only from queued or running), its pending and running cells
 * `cancelled`, its waiting and active stage-job rows `cancelled`. Then Redis:
 *
 * 1. each of its jobs still waiting, delayed or prioritized in the queue is removed, unless
 *    another live (queued or running) experiment lists the same job id: shards and cells are
 *    shared by content id, and a shared job must still run for the other experiment;
 * 2. the experiment id is published on `CANCEL_CHANNEL`, and each worker aborts its running
 *    job if no live experiment needs it any more (apps/worker).
 *
 * Artifacts, metric points and results already stored are kept. Redis is pinged before anything
 * changes, so an outage answers 503 with nothing cancelled; if Redis fails between the commit
 * and the removal, the cancel stands (the scheduler enqueues nothing more for it) and the
 * leftover jobs are logged.
 */
import type { Experiment, ExperimentStatus } from '@rdlab/db';
import { CANCEL_CHANNEL } from '@rdlab/jobs';
import type { FastifyBaseLogger } from 'fastify';
import type { RouteDeps } from './deps.js';
import { apiError, notFound } from './errors.js';

const LIVE: ExperimentStatus[] = ['queued', 'running'];
/** Queue states of a job that has not started: safe to remove. */
const NOT_STARTED = new Set(['waiting', 'delayed', 'prioritized']);

export interface CancelOutcome {
  experiment: Experiment;
  /** Job ids removed from the queue. */
  removedJobs: string[];
  /** Job ids kept because another live experiment needs them. */
  sharedJobs: string[];
}

export async function cancelExperiment(
  deps: RouteDeps,
  teamId: string,
  id: string,
  log: FastifyBaseLogger,
): Promise<CancelOutcome> {
  const existing = await deps.repos.experiments.getExperiment(teamId, id);
  if (!existing) throw notFound(`experiment ${id}`);
  if (!LIVE.includes(existing.status)) throw finished(existing);
  await deps.redis.ping();

  const outcome = await deps.db.$transaction(async (tx) => {
    const experiment = await deps.repos.experiments.updateExperimentStatus(
      id,
      'cancelled',
      { onlyFrom: LIVE },
      tx,
    );
    if (!experiment) return null;
    await tx.cell.updateMany({
      where: { experimentId: id, status: { in: ['pending', 'running'] } },
      data: { status: 'cancelled' },
    });
    const open = await tx.stageJob.findMany({
      where: { experimentId: id, state: { in: ['waiting', 'active'] } },
      select: { key: true },
    });
    await tx.stageJob.updateMany({
      where: { experimentId: id, state: { in: ['waiting', 'active'] } },
      data: { state: 'cancelled', finishedAt: new Date() },
    });
    return { experiment, keys: open.map((j) => j.key) };
  });
  if (!outcome) {
    // Finished (or cancelled by another request) between the read and the update.
    const now = await deps.repos.experiments.getExperiment(teamId, id);
    if (!now) throw notFound(`experiment ${id}`);
    throw finished(now);
  }

  const removedJobs: string[] = [];
  let sharedJobs: string[] = [];
  try {
    const shared = await deps.db.stageJob.findMany({
      where: { key: { in: outcome.keys }, experiment: { status: { in: LIVE } } },
      select: { key: true },
      distinct: ['key'],
    });
    sharedJobs = shared.map((j) => j.key);
    const sharedSet = new Set(sharedJobs);
    for (const key of outcome.keys) {
      if (sharedSet.has(key)) continue;
      const state = await deps.queue.getJobState(key);
      if (NOT_STARTED.has(state) && (await deps.queue.remove(key, { removeChildren: true })) === 1)
        removedJobs.push(key);
    }
    await deps.redis.publish(CANCEL_CHANNEL, id);
  } catch (error) {
    log.error(
      { err: error, experimentId: id, jobs: outcome.keys },
      'experiment cancelled, but its queued jobs could not all be removed',
    );
  }
  return { experiment: outcome.experiment, removedJobs, sharedJobs };
}

function finished(experiment: Experiment) {
  return apiError(
    'RDLAB_EXPERIMENT_FINISHED',
    `experiment ${experiment.id} is ${experiment.status}: only queued or running experiments can be cancelled`,
    { status: experiment.status },
  );
}
