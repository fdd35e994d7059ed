/**
 * An experiment's progress: its stage jobs by kind and state, its cells by status, and an ETA.
 * `GET /v1/experiments/:id` returns it and `GET /v1/experiments/:id/events` streams it.
 *
 * ETA: the mean duration of this experiment's completed train jobs, times the train jobs still
 * to run (cells less train jobs completed, failed or cancelled), divided by the workers alive
 * now. Training dominates a sweep's time, since it also evaluates each epoch (docs/design.md,
 * "Data flow"); publish and report are left out. Null when nothing has trained yet or no worker
 * is alive; 0 once the experiment finished.
 */
import type { CellStatus, Experiment, ExperimentStatus, StageJobCounts } from '@rdlab/db';
import { TERMINAL_EXPERIMENT_STATUSES } from '@rdlab/db';
import type { RouteDeps } from './deps.js';

/** A worker is alive when its last heartbeat is at most this old. */
export const WORKER_ALIVE_MS = 30_000;

export interface ExperimentProgress {
  status: ExperimentStatus;
  /** Stage jobs per kind (prepare, bootstrap, train, publish, report) and state. */
  stages: StageJobCounts;
  cells: Record<CellStatus, number>;
  /** Seconds until the remaining train jobs are done, or null when unknown. */
  etaSeconds: number | null;
}

export function isFinished(status: ExperimentStatus): boolean {
  return TERMINAL_EXPERIMENT_STATUSES.includes(status);
}

export async function experimentProgress(
  deps: RouteDeps,
  experiment: Experiment,
): Promise<ExperimentProgress> {
  const [stages, cells] = await Promise.all([
    deps.repos.stageJobs.countStageJobs(experiment.id),
    deps.repos.cells.countCellsByStatus(experiment.id),
  ]);
  return {
    status: experiment.status,
    stages,
    cells,
    etaSeconds: await etaSeconds(deps, experiment, stages),
  };
}

async function etaSeconds(
  deps: RouteDeps,
  experiment: Experiment,
  stages: StageJobCounts,
): Promise<number | null> {
  if (isFinished(experiment.status)) return 0;
  const train = stages.train;
  const remaining = Math.max(
    0,
    experiment.cellCount - train.completed - train.failed - train.cancelled,
  );
  if (remaining === 0) return 0;
  if (train.completed === 0) return null;
  const [done, workers] = await Promise.all([
    deps.db.stageJob.findMany({
      where: {
        experimentId: experiment.id,
        kind: 'train',
        state: 'completed',
        startedAt: { not: null },
        finishedAt: { not: null },
      },
      select: { startedAt: true, finishedAt: true },
    }),
    deps.repos.workers.listWorkers({ aliveWithinMs: WORKER_ALIVE_MS }),
  ]);
  if (done.length === 0 || workers.length === 0) return null;
  const meanMs =
    done.reduce(
      (sum, job) => sum + ((job.finishedAt?.getTime() ?? 0) - (job.startedAt?.getTime() ?? 0)),
      0,
    ) / done.length;
  return Math.round((Math.max(0, meanMs) * remaining) / workers.length / 1000);
}
