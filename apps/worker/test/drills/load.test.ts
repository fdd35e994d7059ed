/**
 * Drill "load" (reliability drills, part 2), the worker's side:
 * - 10,000 queued shard jobs drain with bounded Redis memory: real redis-server, the real queue
 *   (`rdlab-stages`, catalog options, deterministic ids) and real BullMQ Workers whose processor
 *   only validates the payload. The drill is about the queue and Redis, not the model.
 * - A worker's RSS stays flat over 10,000 training steps: the worker's reward-dropout step on a
 *   tiny GPT on the native engine, in a child process.
 *
 * `RDLAB_DRILLS=full`: 5 rounds of 10,000 jobs and 10,000 steps; otherwise 2 rounds of 10,000
 * jobs (the second one is what shows the retention cap at work) and 3,000 steps.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { contentHash } from '@rdlab/core';
import {
  catalogJob,
  jobId,
  jobOptions,
  parsePayload,
  QUEUES,
  queueDepth,
  redisConnection,
  startRedisServer,
  workerOptions,
} from '@rdlab/jobs';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

const FULL = process.env.RDLAB_DRILLS === 'full';
const KiB = 1024;
const MiB = 1024 * KiB;
const mib = (bytes: number) => (bytes / MiB).toFixed(1);

// ─── Queue ───────────────────────────────────────────────────────────────────────────────────

const JOBS_PER_ROUND = 10_000;
const ROUNDS = FULL ? 5 : 2;
/**
 * Redis bytes one shard job may take, queued or kept after completion. Its payload is ≈200 B of
 * ids and keys (the catalog's rule: never big data); BullMQ's job hash, its entry in the wait
 * or completed set and its events-stream entry add ≈1–1.7 KiB (measured: ≈1.2 KiB queued,
 * ≈1.7 KiB completed, Redis 7.0). A payload that carries data instead of keys breaks it.
 */
const BYTES_PER_JOB = 3 * KiB;
/** Workers × concurrency: enough that the drain takes seconds, as many small workers would. */
const WORKERS = 2;
const CONCURRENCY = 16;
const SAMPLE_MS = 20;
/** A round drains in seconds here; a stuck queue fails the drill instead of its timeout. */
const DRAIN_TIMEOUT_MS = 60_000;

/** One shard job as the scheduler adds it: validated payload, catalog options, id by shard. */
function shardJob(i: number) {
  const shardKey = `shards/${contentHash({ drill: 'load', i }).slice(0, 24)}.arrow`;
  const job = catalogJob(
    'bootstrap',
    {
      version: 1,
      experimentId: `load-${Math.floor(i / 1000)}`,
      specKey: 'specs/load.json',
      dataset: 'demo',
      attribute: 'positive',
      start: i * 100,
      end: (i + 1) * 100,
      shardKey,
    },
    { jobId: jobId('bootstrap', shardKey) },
  );
  return { name: job.name, data: job.data, opts: job.opts };
}

// ─── Training steps ──────────────────────────────────────────────────────────────────────────

const STEPS = FULL ? 10_000 : 3_000;
const SEGMENTS = 6;
const SAMPLE_EVERY_STEPS = 50;
/**
 * Samples of the first 20% of steps are warm-up, while allocators settle. Later, the process
 * gives back ≈15–25 MiB of start-up memory 5–8 s after it started (with or without the native
 * engine, so not a model effect), wherever that falls in the run.
 */
const WARMUP_FRACTION = 0.2;
/** Growth allowed per step, and in all: 1 KiB/step is 10 MiB over 10,000 steps. */
const MAX_BYTES_PER_STEP = KiB;
const MAX_GROWTH_BYTES = 32 * MiB;
const trainSteps = fileURLToPath(new URL('./train-steps.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    sxx += ((xs[i] as number) - mx) ** 2;
  }
  return sxy / sxx;
}

/**
 * The median of the least-squares slopes of `segments` consecutive stretches of the samples.
 * A leak grows in every stretch; a one-off step (start-up memory given back, an allocator
 * arena growing once) moves one stretch only, and the median ignores it.
 */
function medianSlope(xs: readonly number[], ys: readonly number[], segments: number): number {
  const size = Math.floor(xs.length / segments);
  const slopes = Array.from({ length: segments }, (_, k) =>
    slope(xs.slice(k * size, (k + 1) * size), ys.slice(k * size, (k + 1) * size)),
  ).sort((a, b) => a - b);
  const mid = segments / 2;
  return segments % 2
    ? (slopes[Math.floor(mid)] as number)
    : ((slopes[mid - 1] as number) + (slopes[mid] as number)) / 2;
}

interface TrainRun {
  unavailable?: string;
  backend: string;
  steps: number;
  seconds: number;
  samples: Array<{ step: number; rssBytes: number }>;
}

function runTrainSteps(steps: number, sampleEvery: number): Promise<TrainRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--conditions=source',
        '--import',
        tsx,
        trainSteps,
        String(steps),
        String(sampleEvery),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{'))
        return reject(new Error(`train-steps.ts exited ${code ?? signal}: ${err.trim()}`));
      resolve(JSON.parse(line) as TrainRun);
    });
  });
}

describe('drill: load (queue and worker)', { timeout: FULL ? 600_000 : 180_000 }, () => {
  it(`drains ${ROUNDS} × ${JOBS_PER_ROUND} queued shard jobs with bounded Redis memory`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rdlab-load-drill-'));
    const server = await startRedisServer({ dataDir: join(dir, 'redis') });
    const queue = new Queue(QUEUES.stages, {
      connection: redisConnection(server.url, { role: 'producer' }),
    });
    const probe = new Redis(redisConnection(server.url, { role: 'producer' }));
    const workers: Worker[] = [];
    try {
      await queue.waitUntilReady();
      const memory = async () => {
        const info = await probe.info('memory');
        const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1]);
        return { used: field('used_memory'), peak: field('used_memory_peak') };
      };
      // Failed jobs are not exercised here (every job succeeds); their retention must be capped.
      const keepFailed = jobOptions('bootstrap').removeOnFail;
      assert.ok(
        typeof keepFailed === 'object' && (keepFailed.count ?? 0) > 0,
        'the catalog keeps failed shard jobs without a count cap',
      );

      const before = (await memory()).used;
      let completed = 0;
      let target = 0;
      let drained: () => void = () => {};
      for (let w = 0; w < WORKERS; w++) {
        const worker = new Worker(
          QUEUES.stages,
          async (job) => {
            parsePayload(job.name, job.data); // as the real processor does, before any stage
            return {};
          },
          {
            connection: redisConnection(server.url, { role: 'worker' }),
            concurrency: CONCURRENCY,
            autorun: false,
            ...workerOptions(QUEUES.stages),
          },
        );
        worker.on('completed', () => {
          completed += 1;
          if (completed >= target) drained();
        });
        workers.push(worker);
      }

      const rounds: Array<{ queued: number; peak: number; after: number; ms: number }> = [];
      for (let round = 0; round < ROUNDS; round++) {
        target += JOBS_PER_ROUND;
        const done = new Promise<void>((resolve) => {
          drained = resolve;
        });
        let peak = 0;
        const sampler = setInterval(() => {
          memory().then(
            (m) => {
              peak = Math.max(peak, m.used);
            },
            () => {},
          );
        }, SAMPLE_MS);
        const t0 = performance.now();
        for (let s = 0; s < JOBS_PER_ROUND; s += 1000) {
          const first = round * JOBS_PER_ROUND + s;
          await queue.addBulk(Array.from({ length: 1000 }, (_, k) => shardJob(first + k)));
        }
        // Round 1 is queued whole before any worker starts; later rounds drain as they arrive.
        const queued = (await memory()).used;
        if (round === 0) for (const worker of workers) void worker.run();
        let timer: NodeJS.Timeout | undefined;
        const stuck = await Promise.race([
          done.then(() => false),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(true), DRAIN_TIMEOUT_MS);
          }),
        ]);
        clearTimeout(timer);
        clearInterval(sampler);
        if (stuck) {
          const left = (await queueDepth([queue]))[QUEUES.stages];
          assert.fail(
            `round ${round + 1}: ${completed} of ${target} jobs completed in ${DRAIN_TIMEOUT_MS} ms; queue ${JSON.stringify(left)}`,
          );
        }
        const after = (await memory()).used;
        rounds.push({ queued, peak: Math.max(peak, queued), after, ms: performance.now() - t0 });
      }
      await Promise.all(workers.map((w) => w.close()));
      const counts = (await queueDepth([queue]))[QUEUES.stages]!;
      const redisPeak = (await memory()).peak;

      const total = ROUNDS * JOBS_PER_ROUND;
      const first = rounds[0]!;
      const queuedPerJob = (first.queued - before) / JOBS_PER_ROUND;
      const keptPerJob = (first.after - before) / JOBS_PER_ROUND;
      assert.equal(completed, total, `${completed} of ${total} jobs completed`);
      assert.equal(counts.failed, 0, `${counts.failed} jobs failed`);
      assert.equal(counts.depth + counts.active, 0, `jobs left: ${JSON.stringify(counts)}`);
      assert.ok(
        queuedPerJob <= BYTES_PER_JOB,
        `a queued shard job takes ${queuedPerJob.toFixed(0)} B of Redis, over ${BYTES_PER_JOB}: payloads must carry keys, not data`,
      );
      assert.ok(
        keptPerJob <= BYTES_PER_JOB,
        `a completed shard job kept for dedupe takes ${keptPerJob.toFixed(0)} B of Redis, over ${BYTES_PER_JOB}`,
      );
      // Retention: after the first round, every later drain must leave Redis where the first
      // left it. A catalog that keeps more than one round of completed jobs breaks this.
      const growth = Math.max(...rounds.map((r) => r.after)) - first.after;
      assert.ok(
        counts.completed <= JOBS_PER_ROUND && growth <= 0.1 * (first.after - before),
        `after each drain Redis holds ${rounds.map((r) => mib(r.after)).join(', ')} MiB and ${counts.completed} completed jobs after ${total} ran: removeOnComplete (${JSON.stringify(jobOptions('bootstrap').removeOnComplete)}) must keep Redis flat once it holds ${JOBS_PER_ROUND}`,
      );
      // The worst moment: one round kept, one round queued.
      const bound = before + 2 * JOBS_PER_ROUND * BYTES_PER_JOB;
      const peak = Math.max(redisPeak, ...rounds.map((r) => r.peak));
      assert.ok(peak <= bound, `Redis peaked at ${mib(peak)} MiB, over ${mib(bound)} MiB`);
      const jobsPerS = total / (rounds.reduce((a, r) => a + r.ms, 0) / 1000);
      console.log(
        `drill: queue drain | ${ROUNDS} × ${JOBS_PER_ROUND} shard jobs, ${jobsPerS.toFixed(0)} jobs/s; Redis ${mib(before)} MiB idle, ${queuedPerJob.toFixed(0)} B/queued job, peak ${mib(peak)} MiB (bound ${mib(bound)}); after each drain ${rounds.map((r) => mib(r.after)).join(', ')} MiB, ${counts.completed} completed kept (${keptPerJob.toFixed(0)} B each) | pass`,
      );
    } finally {
      await Promise.allSettled(workers.map((w) => w.close()));
      await queue.close().catch(() => {});
      probe.disconnect();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it(`keeps a worker's RSS flat over ${STEPS} training steps (native engine)`, async (t) => {
    const run = await runTrainSteps(STEPS, SAMPLE_EVERY_STEPS);
    if (run.unavailable) {
      console.log(`drill: worker RSS | native engine unavailable: ${run.unavailable} | skip`);
      t.skip(`the native engine does not load: ${run.unavailable}`);
      return;
    }
    const measured = run.samples.filter((s) => s.step > STEPS * WARMUP_FRACTION);
    const steps = measured.map((s) => s.step);
    const rss = measured.map((s) => s.rssBytes);
    const perStep = medianSlope(steps, rss, SEGMENTS);
    const overall = slope(steps, rss);
    const growth = rss.at(-1)! - rss[0]!;
    assert.ok(
      perStep < MAX_BYTES_PER_STEP,
      `RSS grows ${perStep.toFixed(0)} B/step (median slope of ${SEGMENTS} stretches of ${measured.length} samples), over ${MAX_BYTES_PER_STEP}`,
    );
    assert.ok(
      growth < MAX_GROWTH_BYTES,
      `RSS grew ${mib(growth)} MiB over ${steps.at(-1)! - steps[0]!} steps, over ${mib(MAX_GROWTH_BYTES)}`,
    );
    console.log(
      `drill: worker RSS | ${run.steps} steps (${((run.seconds / run.steps) * 1000).toFixed(1)} ms each, ${run.backend}); after ${STEPS * WARMUP_FRACTION} warm-up steps ${mib(rss[0]!)} → ${mib(rss.at(-1)!)} MiB, ${perStep.toFixed(0)} B/step (median of ${SEGMENTS} stretches; overall ${overall.toFixed(0)}) | pass`,
    );
  });
});
