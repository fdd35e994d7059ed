/**
 * `rdlab-worker`: a worker process, configured from the environment (see config.ts).
 * SIGTERM or SIGINT finishes the running job (or releases it after the grace period, for
 * another worker to resume), then exits.
 */
import { workerConfig } from './config.js';
import { startWorker } from './worker.js';

export { type WorkerConfig, workerConfig } from './config.js';
export { runStage, type StageDeps, type StageOutcome } from './stage-runner.js';
export { type RunningWorker, startWorker } from './worker.js';

/** Seconds a stopping worker waits for its job before releasing it. */
const graceMs = Number(process.env.RDLAB_SHUTDOWN_GRACE_MS ?? 30_000);

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const running = await startWorker(workerConfig());
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void running.close(graceMs).then(() => process.exit(0));
    });
  }
}
