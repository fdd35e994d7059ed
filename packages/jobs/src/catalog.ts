/**
 * The job catalog: every BullMQ queue and job name of rdlab, with the payload schema, queue,
 * retry, timeout and lock settings of each job (trigger.dev's `workerCatalog`). The API, the
 * scheduler and the workers import names and options from here and nowhere else.
 *
 * Payloads carry ids and artifact-store keys, never big data: a job reads the resolved spec at
 * `specKey` and its inputs from the artifact store. Every payload has `version: 1`; to change a
 * payload, add a `version: 2` schema beside it (`z.discriminatedUnion('version', …)`) and keep
 * reading version 1 until no such job is left in flight, with a comment saying so.
 */
import type { JobsOptions, WorkerOptions } from 'bullmq';
import { z } from 'zod';
import {
  JobPayloadError,
  LockEnvError,
  type LockEnvVariable,
  type PayloadIssue,
  UnknownJobError,
} from './errors.js';

// ─── Queues ──────────────────────────────────────────────────────────────────────────────────

/**
 * The BullMQ queues: ONE queue for every stage job. A worker runs one job at a time per
 * accelerator (concurrency 1 per accelerator), and one BullMQ `Worker` consumes one queue. With
 * a queue per stage, a worker process would need a `Worker` per queue and would hold a job of
 * one stage while running another, which defeats both the concurrency limit and the scaling of
 * several single-threaded workers. One queue keeps the worker simple (one `Worker`, one job at a
 * time, every job name handled) and the depth one number for autoscalers (KEDA). A later split
 * into pools (e.g. GPU vs CPU) is a change to this table only (and to the `queue` of each job
 * below, in this file).
 */
export const QUEUES = { stages: 'rdlab-stages' } as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);

/**
 * Pipeline stages: the `stage` label of metrics. `@rdlab/telemetry` has its own copy of this
 * type (it imports nothing of ours); keep the two the same (a test compares them).
 */
export type Stage = 'prepare' | 'bootstrap' | 'train' | 'publish' | 'report';

// ─── Payload fields ──────────────────────────────────────────────────────────────────────────

/** Ids of experiments and cells (`c0123…`): short, URL- and Redis-key-safe. */
const id = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected an id of 1 to 128 characters from [A-Za-z0-9_-]');

/** Artifact-store keys: relative paths of [A-Za-z0-9._=-] segments, no '.' or '..' (as @rdlab/store). */
const artifactKey = z
  .string()
  .max(900)
  .refine(
    (key) => key.split('/').every((s) => s !== '.' && s !== '..' && /^[A-Za-z0-9._=-]+$/.test(s)),
    'expected an artifact-store key: a relative path of [A-Za-z0-9._=-] segments',
  );

const version = z.literal(1);
const name = z.string().min(1).max(200);
const index = z.number().int().nonnegative();

// ─── Jobs ────────────────────────────────────────────────────────────────────────────────────

/**
 * The stage jobs. There is no flow parent (no `experiment` job): the scheduler (apps/scheduler)
 * is a reconciler that polls each running experiment and adds the next stage's jobs itself,
 * with deterministic job ids (`jobId`). BullMQ flows are trees and cannot express that every
 * train job of an attribute waits for all of its shards, nor that two experiments share a shard
 * (BullMQ 6.7 refuses a second live parent for an existing child).
 */
export const JOB_NAMES = ['prepare', 'bootstrap', 'train', 'publish', 'report'] as const;

export type JobName = (typeof JOB_NAMES)[number];

/**
 * The names jobs had before each job was named after its stage: `shard` ran the bootstrap
 * stage, `evaluate` published the evaluations its cell's train job had computed. Jobs added
 * under them may still be in Redis, so workers run them as their new name; nothing adds them.
 */
export const LEGACY_JOB_NAMES = {
  shard: 'bootstrap',
  evaluate: 'publish',
} as const satisfies Record<string, JobName>;

/** The current name of job `name` (itself, or what a legacy name is called now), or null. */
export function currentJobName(name: string): JobName | null {
  if (isJobName(name)) return name;
  return Object.hasOwn(LEGACY_JOB_NAMES, name)
    ? LEGACY_JOB_NAMES[name as keyof typeof LEGACY_JOB_NAMES]
    : null;
}

/** How one kind of job is queued, retried and supervised. */
export interface JobDefinition {
  /** The queue it is added to. */
  queue: QueueName;
  /** The pipeline stage it runs (metrics label). */
  stage: Stage;
  /** Strict schema of `job.data`. */
  payload: z.ZodType<{ version: 1 }>;
  /** Total tries, the first included (BullMQ `attempts`). */
  attempts: number;
  /** Delay before retry n is `delayMs · 2^(n-1)`. */
  backoff: { type: 'exponential'; delayMs: number };
  /** How long one attempt may run before the worker aborts it through its AbortSignal. */
  timeoutMs: number;
  /**
   * The shortest lock a worker may hold on an active job of this kind; a worker takes the
   * longest of its queue's jobs ({@link workerOptions}). BullMQ renews the lock every
   * `lockDuration / 2`, so a killed worker's job is retried after at most the lock duration
   * (plus the stalled-check interval). Renewal needs a free event loop: run CPU-heavy
   * processors sandboxed.
   */
  lockDurationMs: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export const jobCatalog = {
  /**
   * Ensures the tokenizer, behaviour LM β and reward model R of one dataset exist (trains or
   * loads them; skips what the artifact store already holds).
   */
  prepare: {
    queue: QUEUES.stages,
    stage: 'prepare',
    payload: z.object({ version, experimentId: id, specKey: artifactKey, dataset: name }).strict(),
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 30 * SECOND },
    timeoutMs: 12 * HOUR,
    lockDurationMs: 5 * MINUTE,
  },
  /**
   * Samples prefixes [start, end) × K continuations from β, scores them with R and writes the
   * shard at `shardKey`. A shard depends on neither γ nor the cell, so experiments share it:
   * its job id is `jobId('bootstrap', <shard key>)` and `experimentId` is only the experiment
   * that asked first (for logs). Formerly `shard`.
   */
  bootstrap: {
    queue: QUEUES.stages,
    stage: 'bootstrap',
    payload: z
      .object({
        version,
        experimentId: id,
        specKey: artifactKey,
        dataset: name,
        attribute: name,
        start: index,
        end: index,
        shardKey: artifactKey,
      })
      .strict()
      .refine((p) => p.end > p.start, {
        path: ['end'],
        message: 'end must be greater than start (the range is [start, end))',
      }),
    attempts: 5,
    backoff: { type: 'exponential', delayMs: 10 * SECOND },
    timeoutMs: 4 * HOUR,
    lockDurationMs: 5 * MINUTE,
  },
  /**
   * Trains one cell: epochs over the shards with reward dropout, a checkpoint per epoch. A retry
   * resumes from `cells/<id>/latest.json`, so a killed worker costs at most one epoch.
   */
  train: {
    queue: QUEUES.stages,
    stage: 'train',
    payload: z.object({ version, experimentId: id, cellId: id, specKey: artifactKey }).strict(),
    attempts: 4,
    backoff: { type: 'exponential', delayMs: MINUTE },
    timeoutMs: 24 * HOUR,
    lockDurationMs: 5 * MINUTE,
  },
  /**
   * Publishes one cell's evaluations into Postgres (start point and every epoch, with its
   * examples) and marks the cell succeeded. The train job computed them (Acc, Reward, BLEU,
   * ROUGE, METEOR on held-out prefixes) into the cell's result; this job only publishes them.
   * Formerly `evaluate`.
   */
  publish: {
    queue: QUEUES.stages,
    stage: 'publish',
    payload: z.object({ version, experimentId: id, cellId: id, specKey: artifactKey }).strict(),
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 30 * SECOND },
    timeoutMs: 4 * HOUR,
    lockDurationMs: 5 * MINUTE,
  },
  /**
   * Acc + Reward tables, Pareto fronts and verdicts of one experiment, from the cells' results.
   * The scheduler adds it once every cell of the experiment is published.
   */
  report: {
    queue: QUEUES.stages,
    stage: 'report',
    payload: z.object({ version, experimentId: id, specKey: artifactKey }).strict(),
    attempts: 3,
    backoff: { type: 'exponential', delayMs: 10 * SECOND },
    timeoutMs: 30 * MINUTE,
    lockDurationMs: MINUTE,
  },
} satisfies Record<JobName, JobDefinition>;

/** What `job.data` holds for job `N`, after validation. */
export type JobPayload<N extends JobName> = z.output<(typeof jobCatalog)[N]['payload']>;

/**
 * Finished jobs are kept a while, so that a job added again with the same id (another
 * experiment asking for the same shard) is recognised as done instead of running twice.
 * `age` is in seconds (BullMQ).
 */
const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 10_000 };
/** Failed jobs longer (for `rdlab status` and post-mortems), and also capped: a crash loop must not fill Redis. */
const KEEP_FAILED = { age: 30 * 24 * 3600, count: 10_000 };

// ─── Lookups ─────────────────────────────────────────────────────────────────────────────────

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

/**
 * The catalog entry of `name` (a legacy name reads as its current one); throws
 * `RDLAB_JOB_UNKNOWN` listing the valid names.
 */
export function jobDefinition(name: string): JobDefinition {
  const current = currentJobName(name);
  if (!current) throw new UnknownJobError(name, JOB_NAMES);
  return jobCatalog[current];
}

export function queueFor(name: JobName): QueueName {
  return jobDefinition(name).queue;
}

/** The job names a worker on `queue` must handle. */
export function jobNamesFor(queue: QueueName): JobName[] {
  return JOB_NAMES.filter((n) => jobCatalog[n].queue === queue);
}

/**
 * Validates `data` against the payload schema of job `name`. Throws `RDLAB_JOB_PAYLOAD_INVALID`
 * (a {@link JobPayloadError} whose `field` names the offending field) or `RDLAB_JOB_UNKNOWN`.
 */
export function parsePayload<N extends JobName>(name: N, data: unknown): JobPayload<N>;
export function parsePayload(name: string, data: unknown): JobPayload<JobName>;
export function parsePayload(name: string, data: unknown): JobPayload<JobName> {
  const result = jobDefinition(name).payload.safeParse(data);
  if (result.success) return result.data as JobPayload<JobName>;
  throw new JobPayloadError(name, result.error.issues.map(toIssue));
}

/** BullMQ options for adding job `name`: attempts, backoff and retention. A fresh object. */
export function jobOptions(name: JobName): JobsOptions {
  const { attempts, backoff } = jobDefinition(name);
  return {
    attempts,
    backoff: { type: backoff.type, delay: backoff.delayMs },
    removeOnComplete: { ...KEEP_COMPLETED },
    removeOnFail: { ...KEEP_FAILED },
  };
}

/** The lock and stall settings of a BullMQ `Worker` (milliseconds, as BullMQ takes them). */
export type WorkerLockOptions = Required<
  Pick<WorkerOptions, 'lockDuration' | 'lockRenewTime' | 'stalledInterval' | 'maxStalledCount'>
>;

/**
 * Lock settings for a BullMQ `Worker` on `queue`: the longest lock of its jobs, renewed at half
 * of it, and two stalls allowed before a job fails (a preempted node is not a bug). For
 * `QUEUES.stages`: a 5-minute lock renewed every 2.5 minutes.
 */
export function workerOptions(queue: QueueName): WorkerLockOptions {
  const lockDuration = Math.max(...jobNamesFor(queue).map((n) => jobCatalog[n].lockDurationMs));
  return {
    lockDuration,
    lockRenewTime: lockDuration / 2,
    stalledInterval: 30 * SECOND,
    maxStalledCount: 2,
  };
}

/** The longest delay `setTimeout` takes; BullMQ's lock and stall timers are `setTimeout`s. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `base` (usually `workerOptions(QUEUES.stages)`) with the lock settings an operator (or a test)
 * sets in the environment; a fresh object, `base` is not changed:
 *
 * - `RDLAB_LOCK_DURATION_MS`: the lock duration; `lockRenewTime` becomes half of it. Shorter:
 *   a killed worker's job is retried sooner, but a blocked event loop loses the lock sooner.
 * - `RDLAB_STALLED_INTERVAL_MS`: how often the worker looks for jobs whose lock expired.
 *
 * Each is a positive integer of milliseconds, at most 2147483647 (the longest timer); unset or
 * empty keeps `base`'s value. Anything else throws `RDLAB_LOCK_ENV_INVALID`
 * ({@link LockEnvError}, whose `variable` names the variable).
 */
export function lockOptionsFromEnv(
  base: WorkerLockOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): WorkerLockOptions {
  const options = { ...base };
  const lockDuration = positiveMs(env, 'RDLAB_LOCK_DURATION_MS');
  if (lockDuration !== undefined) {
    options.lockDuration = lockDuration;
    options.lockRenewTime = lockDuration / 2;
  }
  const stalledInterval = positiveMs(env, 'RDLAB_STALLED_INTERVAL_MS');
  if (stalledInterval !== undefined) options.stalledInterval = stalledInterval;
  return options;
}

function positiveMs(
  env: Readonly<Record<string, string | undefined>>,
  variable: LockEnvVariable,
): number | undefined {
  const text = env[variable];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < 1 || value > MAX_TIMER_MS) {
    throw new LockEnvError(
      variable,
      `${variable} is '${text}': expected a positive integer of milliseconds, at most ${MAX_TIMER_MS} (e.g. 300000 for 5 min), or unset`,
    );
  }
  return value;
}

/** A validated job ready for `Queue.add(job.name, job.data, job.opts)`. */
export interface CatalogJob<N extends JobName> {
  name: N;
  queueName: QueueName;
  data: JobPayload<N>;
  opts: JobsOptions;
}

/**
 * Validates `payload` and pairs it with the job's queue and options; `opts` (a `jobId`, a
 * `priority`, a `delay`, …) are merged over the catalog's.
 */
export function catalogJob<N extends JobName>(
  name: N,
  payload: JobPayload<N>,
  opts: JobsOptions = {},
): CatalogJob<N> {
  return {
    name,
    queueName: queueFor(name),
    data: parsePayload(name, payload),
    opts: { ...jobOptions(name), ...opts },
  };
}

function toIssue(issue: z.core.$ZodIssue): PayloadIssue {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k)).join(', ');
    return { field: keys, message: `unknown field (${keys}): payloads are strict` };
  }
  return { field: path || '(payload)', message: issue.message };
}
