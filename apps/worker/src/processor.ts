/**
 * The sandboxed processor: BullMQ runs this file in a child process, so a stage's minutes of
 * CPU-heavy work never block the worker's event loop and its job locks keep being renewed.
 * The child keeps its store and database client between jobs.
 */

import { join } from 'node:path';
import { createDb, isDatabaseUnavailable, Repositories } from '@rdlab/db';
import { currentJobName } from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import { PreparedCache } from '@rdlab/pipeline';
import { type ArtifactStore, openStore } from '@rdlab/store';
import type { SandboxedJob } from 'bullmq';
import { DelayedError, UnrecoverableError, WaitingError } from 'bullmq';
import { SHUTDOWN_REASON, workerConfig } from './config.js';
import { classifyFailure, type DiskPlace } from './failures.js';
import { runStage } from './stage-runner.js';

// A child whose worker died (SIGKILL, a lost node) must not go on training: another worker
// resumes the cell from its checkpoint, and two writers of one cell would race.
process.on('disconnect', () => process.exit(1));

/**
 * Milliseconds a job that found Postgres unreachable waits before it runs again (each run is one
 * refused connection; the worker meanwhile takes other jobs).
 */
const DATABASE_RETRY_MS = 10_000;

let ready: Promise<{ store: ArtifactStore; db: ReturnType<typeof createDb> }> | null = null;
/** Datasets (β, R, the data) this child prepared, for its next jobs. */
const prepared = new PreparedCache();

function setUp() {
  ready ??= (async () => {
    const config = workerConfig();
    await initBackend(undefined, () => {});
    return { store: await openStore(config.store), db: createDb(config.databaseUrl) };
  })();
  return ready;
}

export default async function processStage(
  job: SandboxedJob,
  token?: string,
  signal?: AbortSignal,
) {
  // A job added under a legacy name (`shard`, `evaluate`) runs as its current one.
  const name = currentJobName(job.name);
  if (!name) throw new UnrecoverableError(`unknown job name '${job.name}'`);
  const config = workerConfig();
  const { store, db } = await setUp();
  // One BullMQ signal, two meanings: a worker shutting down releases the job (the train stage
  // checkpoints at its next step), a cancelled experiment stops it.
  const cancel = new AbortController();
  const release = new AbortController();
  signal?.addEventListener('abort', () => {
    if (String(signal.reason) === SHUTDOWN_REASON) release.abort(signal.reason);
    else cancel.abort(signal.reason);
  });
  try {
    return await runStage(name, job.data, {
      store,
      db,
      repos: new Repositories(db),
      baseDir: config.baseDir,
      workDir: config.workDir,
      signal: cancel.signal,
      release: release.signal,
      prepared,
      progress: (p) => {
        void job.updateProgress(p as unknown as object);
      },
      log: (line) => {
        void job.log(line);
      },
    });
  } catch (error) {
    // Released: back to the queue at once, no attempt spent, for another worker to resume.
    if (release.signal.aborted) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    // Cancelled: its experiments asked it to stop; not retried.
    if (cancel.signal.aborted)
      throw new UnrecoverableError(`cancelled: ${String(cancel.signal.reason ?? '')}`);
    // Postgres away: try again later without spending an attempt, so an outage longer than the
    // job's backoff (report: 10 s + 20 s) does not fail the job, and its experiment, for good.
    if (isDatabaseUnavailable(error)) {
      await job.moveToDelayed(Date.now() + DATABASE_RETRY_MS, token);
      throw new DelayedError();
    }
    throw await classifyFailure(error, job.name, localPlaces(config, store));
  }
}

/** The local folders a job writes to: scratch, the dataset cache, a local artifact store. */
function localPlaces(config: ReturnType<typeof workerConfig>, store: ArtifactStore): DiskPlace[] {
  const places: DiskPlace[] = [{ path: config.workDir, variable: 'RDLAB_WORK_DIR' }];
  const home = process.env.HOME ?? '/tmp';
  places.push({
    // @rdlab/data's download cache, where it keeps it by default.
    path: process.env.RDLAB_CACHE_DIR ?? join(home, '.cache', 'rdlab', 'datasets'),
    variable: 'RDLAB_CACHE_DIR',
  });
  if (!store.location.startsWith('s3://'))
    places.push({ path: store.location, variable: 'RDLAB_STORE' });
  return places;
}
