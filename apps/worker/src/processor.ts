/**
 * The sandboxed processor: BullMQ runs this file in a child process, so a stage's minutes of
 * CPU-heavy work never block the worker's event loop and its job locks keep being renewed.
 * The child keeps its store and database client between jobs.
 */

import { createDb, Repositories } from '@rdlab/db';
import { isJobName } from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import { type ArtifactStore, openStore } from '@rdlab/store';
import type { SandboxedJob } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { workerConfig } from './config.js';
import { runStage } from './stage-runner.js';

/** The abort reason of a worker that is shutting down (its job is retried elsewhere). */
export const SHUTDOWN_REASON = 'worker shutting down';

let ready: Promise<{ store: ArtifactStore; db: ReturnType<typeof createDb> }> | null = null;

function setUp() {
  ready ??= (async () => {
    const config = workerConfig();
    await initBackend(undefined, () => {});
    return { store: await openStore(config.store), db: createDb(config.databaseUrl) };
  })();
  return ready;
}

export default async function process(job: SandboxedJob, _token?: string, signal?: AbortSignal) {
  if (!isJobName(job.name)) throw new UnrecoverableError(`unknown job name '${job.name}'`);
  const config = workerConfig();
  const { store, db } = await setUp();
  try {
    return await runStage(job.name, job.data, {
      store,
      db,
      repos: new Repositories(db),
      baseDir: config.baseDir,
      workDir: config.workDir,
      ...(signal ? { signal } : {}),
      progress: (p) => {
        void job.updateProgress(p as unknown as object);
      },
      log: (line) => {
        void job.log(line);
      },
    });
  } catch (error) {
    // A worker shutting down releases its job for another worker (the train stage resumes from
    // its last checkpoint); a job whose experiments were cancelled is not retried.
    if (signal?.aborted && String(signal.reason) !== SHUTDOWN_REASON)
      throw new UnrecoverableError(`cancelled: ${String(signal.reason ?? '')}`);
    throw error;
  }
}
