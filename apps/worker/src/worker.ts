/**
 * A worker: one BullMQ Worker on the stages queue, concurrency 1 (one accelerator, or one
 * single-threaded CPU engine), its processor sandboxed in a child process so locks renew while
 * a stage computes. The main process keeps Postgres current (stage jobs, heartbeats), exports
 * Prometheus metrics and cancels the running job when every experiment that needs it is cancelled.
 *
 * SIGTERM releases the running job: the train stage checkpoints at its next step and the job
 * goes back to the queue for another worker to resume there.
 * A worker killed with SIGKILL loses its lock; after `lockDuration` another worker's stall check
 * moves the job back to the queue, and the train stage resumes the cell from its last epoch's
 * checkpoint: at most one epoch is lost.
 */
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createDb, Repositories } from '@rdlab/db';
import {
  CANCEL_CHANNEL,
  currentJobName,
  jobDefinition,
  lockOptionsFromEnv,
  QUEUES,
  redisConnection,
  workerOptions,
} from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import { createLogger, createMetrics, METRICS_CONTENT_TYPE, metricsText } from '@rdlab/telemetry';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { configEnv, SHUTDOWN_REASON, type WorkerConfig } from './config.js';
import { DiskGuard, diskGuardOptions } from './disk-guard.js';
import { StageJobRecorder } from './stage-job-recorder.js';
import type { StageOutcome } from './stage-runner.js';

const HEARTBEAT_MS = 5000;

/** The metrics label of a job's stage (names outside the catalog never get this far). */
const stageOf = (job: Job) => {
  const name = currentJobName(job.name);
  return name ? jobDefinition(name).stage : 'report';
};
const processorFile = fileURLToPath(new URL('./processor.ts', import.meta.url));

export interface RunningWorker {
  readonly id: string;
  readonly backend: string;
  readonly worker: Worker;
  /** Prometheus port when one was asked for. */
  readonly metricsPort: number | null;
  /** Finishes the running job (or cancels it after `graceMs`), then stops. */
  close(graceMs?: number): Promise<void>;
}

export async function startWorker(config: WorkerConfig): Promise<RunningWorker> {
  const log = createLogger({ name: `worker ${config.workerId}` });
  const backend = (await initBackend(undefined, (line) => log.info(line))).name;
  const db = createDb(config.databaseUrl);
  const repos = new Repositories(db);
  const metrics = createMetrics(undefined, { defaultMetrics: true });
  metrics.workersActive.set({ backend }, 1);
  const started = new Map<string, number>();

  const worker = new Worker(QUEUES.stages, processorFile, {
    connection: redisConnection(config.redisUrl, {
      role: 'worker',
      connectionName: config.workerId,
    }),
    concurrency: 1,
    useWorkerThreads: false,
    // The sandboxed processor reads its configuration from the environment.
    workerForkOptions: { env: { ...process.env, ...configEnv(config) } },
    ...lockOptionsFromEnv(workerOptions(QUEUES.stages)),
  });
  const guard = new DiskGuard(worker, diskGuardOptions(), (line) => log.warn(line));
  // Retried while Postgres is away, in order per job: a lost move would leave a row `active`.
  const stageJobs = new StageJobRecorder(repos.stageJobs, {
    log: (line, error) => log.error({ err: error }, line),
  });
  let current: Job | null = null;
  worker.on('active', (job) => {
    current = job;
    started.set(job.id ?? '', performance.now());
    if (job.attemptsMade > 0) metrics.jobRetriesTotal.inc({ stage: stageOf(job) });
    stageJobs.record(job.id ?? '', 'active', { worker: config.workerId, backend });
    void beat();
  });
  worker.on('completed', (job, result: Partial<StageOutcome> | undefined) => {
    current = null;
    const stage = stageOf(job);
    const t0 = started.get(job.id ?? '');
    if (t0 !== undefined)
      metrics.jobDurationSeconds.observe({ stage }, (performance.now() - t0) / 1000);
    if (result?.samples) metrics.samplesTotal.inc({ stage }, result.samples);
    if (result?.tokens) metrics.tokensTotal.inc({ stage, backend }, result.tokens);
    stageJobs.record(job.id ?? '', 'completed');
    void beat();
  });
  worker.on('failed', (job, error) => {
    current = null;
    if (!job) return;
    const stage = stageOf(job);
    metrics.jobFailuresTotal.inc({ stage });
    const final =
      job.attemptsMade >= (job.opts.attempts ?? 1) || error.name === 'UnrecoverableError';
    log.warn({ job: job.id, attempt: job.attemptsMade, final }, error.message);
    // This worker's disk, not the job: let a worker with room run the retry.
    const { code, path } = error as Error & { code?: string; path?: string };
    if (code === 'RDLAB_DISK_FULL') guard.trip(path ?? config.workDir);
    stageJobs.record(job.id ?? '', final ? 'failed' : 'waiting', {
      error: error.message.slice(0, 2000),
    });
    void beat();
  });
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));

  // While Postgres is away, one line when heartbeats start failing and one when they resume.
  let beating = true;
  async function beat() {
    try {
      await repos.workers.heartbeat({
        id: config.workerId,
        backend,
        hostname: hostname(),
        currentJob: current?.id ?? null,
      });
      if (!beating) log.info('heartbeat resumed');
      beating = true;
    } catch (error) {
      if (beating) log.warn({ err: error }, 'heartbeat failed; retrying every beat');
      beating = false;
    }
  }
  await beat();
  const heartbeat = setInterval(() => void beat(), HEARTBEAT_MS);

  // Cancellation: stop the running job once no live experiment needs it.
  const subscriber = new Redis(redisConnection(config.redisUrl, { role: 'worker' }));
  // While Redis is away the client reconnects by itself; the queue logs the outage already.
  subscriber.on('error', () => {});
  await subscriber.subscribe(CANCEL_CHANNEL);
  subscriber.on('message', (_channel, experimentId: string) => {
    const job = current;
    if (!job?.id) return;
    void (async () => {
      const live = await db.stageJob.count({
        where: { key: job.id, experiment: { status: { in: ['queued', 'running'] } } },
      });
      if (live === 0 && current?.id === job.id) {
        log.info({ job: job.id, experimentId }, 'cancelling: its experiments were cancelled');
        worker.cancelJob(job.id as string, `experiment ${experimentId} cancelled`);
      }
    })().catch((error) => log.error({ err: error }, 'cancel check failed'));
  });

  let server: Server | null = null;
  let metricsPort: number | null = null;
  if (config.metricsPort !== null) {
    server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      metricsText(metrics.registry).then(
        (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) =>
      server?.listen(config.metricsPort ?? 0, '127.0.0.1', resolve),
    );
    const address = server.address();
    metricsPort = typeof address === 'object' && address ? address.port : null;
  }

  log.info({ backend, queue: QUEUES.stages }, 'worker started');
  return {
    id: config.workerId,
    backend,
    worker,
    metricsPort,
    async close(graceMs = 30_000) {
      clearInterval(heartbeat);
      guard.stop();
      // Release the running job at once (a train step ends, a checkpoint is written, the job
      // goes back to the queue); after the grace period, stop whatever is left.
      worker.cancelAllJobs(SHUTDOWN_REASON);
      const timer = setTimeout(() => void worker.close(true), graceMs);
      await worker.close();
      clearTimeout(timer);
      await subscriber.quit().catch(() => {});
      await stageJobs.close(5000);
      await repos.workers.removeWorker(config.workerId).catch(() => false);
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await db.$disconnect();
    },
  };
}
