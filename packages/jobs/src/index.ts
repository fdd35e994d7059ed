/**
 * @rdlab/jobs: the job catalog (every BullMQ queue and job name, with payload schema, retries,
 * timeouts and locks), deterministic job ids, Redis connection settings, queue depth, and a
 * redis-server child process for the embedded stack and tests.
 *
 * ```ts
 * import { Queue } from 'bullmq';
 * import { catalogJob, jobId, QUEUES, queueDepth, redisConnection } from '@rdlab/jobs';
 *
 * const connection = redisConnection('redis://127.0.0.1:6379', { role: 'producer' });
 * const stages = new Queue(QUEUES.stages, { connection }); // every stage job goes here
 * const shardKey = 'shards/3f9a0c1d2e4b5a6978c0d1e2.arrow';
 * const job = catalogJob(
 *   'bootstrap',
 *   { version: 1, experimentId: 'e1', specKey: 'specs/e1.json', dataset: 'imdb',
 *     attribute: 'positive', start: 0, end: 1000, shardKey },
 *   { jobId: jobId('bootstrap', shardKey) }, // a second experiment adding it makes no second job
 * );
 * await stages.add(job.name, job.data, job.opts);
 * console.log(await queueDepth([stages])); // { 'rdlab-stages': { waiting: 1, …, depth: 1 } }
 * ```
 */

export { CANCEL_CHANNEL } from './cancel.js';
export {
  type CatalogJob,
  catalogJob,
  currentJobName,
  isJobName,
  JOB_NAMES,
  type JobDefinition,
  type JobName,
  type JobPayload,
  jobCatalog,
  jobDefinition,
  jobNamesFor,
  jobOptions,
  LEGACY_JOB_NAMES,
  lockOptionsFromEnv,
  parsePayload,
  QUEUE_NAMES,
  QUEUES,
  type QueueName,
  queueFor,
  type Stage,
  type WorkerLockOptions,
  workerOptions,
} from './catalog.js';
export {
  type CountableQueue,
  type QueueDepth,
  queueDepth,
  type RedisConnectionOptions,
  type RedisRole,
  redisConnection,
} from './connection.js';
export {
  JOBS_ERROR_CODES,
  JobIdError,
  JobPayloadError,
  type JobsErrorCode,
  LockEnvError,
  type LockEnvVariable,
  type PayloadIssue,
  RedisServerError,
  RedisUrlError,
  UnknownJobError,
} from './errors.js';
export { JOB_ID_SEPARATOR, jobId } from './job-id.js';
export { type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
