import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  catalogJob,
  currentJobName,
  isJobName,
  JOB_NAMES,
  JobPayloadError,
  jobCatalog,
  jobDefinition,
  jobNamesFor,
  jobOptions,
  LEGACY_JOB_NAMES,
  LockEnvError,
  lockOptionsFromEnv,
  parsePayload,
  QUEUE_NAMES,
  QUEUES,
  queueFor,
  UnknownJobError,
  workerOptions,
} from './index.js';

const shard = {
  version: 1,
  experimentId: 'e1',
  specKey: 'specs/e1.json',
  dataset: 'imdb',
  attribute: 'positive',
  start: 0,
  end: 1000,
  shardKey: 'shards/3f9a0c1d2e4b5a6978c0d1e2.arrow',
} as const;

const valid = {
  report: { version: 1, experimentId: 'e1', specKey: 'specs/e1.json' },
  prepare: { version: 1, experimentId: 'e1', specKey: 'specs/e1.json', dataset: 'imdb' },
  bootstrap: shard,
  train: { version: 1, experimentId: 'e1', cellId: 'c0123456789abcdef', specKey: 'specs/e1.json' },
  publish: { version: 1, experimentId: 'e1', cellId: 'c0123', specKey: 'specs/e1.json' },
} as const;

function payloadError(name: string, data: unknown): JobPayloadError {
  try {
    parsePayload(name, data);
  } catch (error) {
    assert.ok(error instanceof JobPayloadError, `expected JobPayloadError, got ${error}`);
    assert.equal(error.code, 'RDLAB_JOB_PAYLOAD_INVALID');
    return error;
  }
  assert.fail(`payload of ${name} was accepted`);
}

describe('job catalog', () => {
  it('has an entry for every job name, each on a known queue with sane retries', () => {
    assert.deepEqual(Object.keys(jobCatalog).sort(), [...JOB_NAMES].sort());
    for (const name of JOB_NAMES) {
      const def = jobCatalog[name];
      assert.ok(QUEUE_NAMES.includes(def.queue), `${name} → ${def.queue}`);
      assert.ok(def.attempts >= 1 && def.backoff.delayMs > 0 && def.timeoutMs > 0);
      assert.equal(def.backoff.type, 'exponential');
      assert.ok(def.lockDurationMs >= 30_000 && def.lockDurationMs <= def.timeoutMs);
    }
  });

  it('routes every stage job to the one stages queue', () => {
    assert.deepEqual(QUEUES, { stages: 'rdlab-stages' });
    assert.deepEqual(QUEUE_NAMES, ['rdlab-stages']);
    for (const name of JOB_NAMES) assert.equal(queueFor(name), 'rdlab-stages', name);
    assert.deepEqual(jobNamesFor(QUEUES.stages), [
      'prepare',
      'bootstrap',
      'train',
      'publish',
      'report',
    ]);
  });

  it('has no flow parent: the scheduler adds each stage itself', () => {
    assert.ok(!(JOB_NAMES as readonly string[]).includes('experiment'));
    assert.throws(
      () => parsePayload('experiment', { version: 1, experimentId: 'e1' }),
      UnknownJobError,
    );
  });

  it('labels jobs with the stages that @rdlab/telemetry knows', async () => {
    const stageType = async (path: string) => {
      const source = await readFile(new URL(path, import.meta.url), 'utf8');
      const match = /export type Stage =([^;]+);/.exec(source);
      assert.ok(match?.[1], `no Stage type in ${path}`);
      return match[1].replace(/\s+/g, ' ').trim();
    };
    const [jobs, telemetry] = await Promise.all([
      stageType('./catalog.ts'),
      stageType('../../telemetry/src/metrics.ts'),
    ]);
    assert.equal(telemetry, jobs, 'the Stage types of @rdlab/jobs and @rdlab/telemetry differ');
    for (const name of JOB_NAMES) assert.ok(jobs.includes(`'${jobCatalog[name].stage}'`), name);
  });

  it('accepts a valid payload of every job and returns it unchanged', () => {
    for (const name of JOB_NAMES) assert.deepEqual(parsePayload(name, valid[name]), valid[name]);
  });

  it('names the bad field and keeps a stable code', () => {
    assert.equal(payloadError('train', { ...valid.train, cellId: 'a b' }).field, 'cellId');
    assert.equal(payloadError('bootstrap', { ...shard, start: -1 }).field, 'start');
    assert.equal(payloadError('bootstrap', { ...shard, start: 1.5 }).field, 'start');
    assert.equal(
      payloadError('prepare', { ...valid.prepare, dataset: undefined }).field,
      'dataset',
    );
    assert.equal(
      payloadError('report', { ...valid.report, specKey: '../etc/passwd' }).field,
      'specKey',
    );
    assert.match(payloadError('publish', 'not an object').message, /job 'publish' payload/);
  });

  it('rejects a shard whose range is empty, at end', () => {
    const error = payloadError('bootstrap', { ...shard, start: 10, end: 10 });
    assert.equal(error.field, 'end');
    assert.match(error.message, /end must be greater than start/);
  });

  it('rejects unknown fields (payloads are strict) and names them', () => {
    const error = payloadError('train', { ...valid.train, samples: [1, 2, 3] });
    assert.equal(error.field, 'samples');
    assert.match(error.message, /unknown field/);
  });

  it('rejects another payload version, at version', () => {
    const error = payloadError('report', { ...valid.report, version: 2 });
    assert.equal(error.field, 'version');
    assert.equal(
      payloadError('report', { experimentId: 'e1', specKey: 'specs/e1.json' }).field,
      'version',
    );
  });

  it('lists every issue, not only the first', () => {
    const error = payloadError('train', { version: 1, experimentId: '' });
    assert.deepEqual(
      error.issues.map((i) => i.field),
      ['experimentId', 'cellId', 'specKey'],
    );
  });

  it('reads the legacy names of jobs still in Redis as their current names', () => {
    assert.deepEqual(LEGACY_JOB_NAMES, { shard: 'bootstrap', evaluate: 'publish' });
    assert.equal(currentJobName('shard'), 'bootstrap');
    assert.equal(currentJobName('evaluate'), 'publish');
    assert.equal(currentJobName('train'), 'train');
    assert.equal(currentJobName('sample'), null);
    assert.equal(isJobName('shard'), false, 'nothing adds a job under a legacy name');
    assert.deepEqual(parsePayload('shard', shard), shard);
    assert.deepEqual(parsePayload('evaluate', valid.publish), valid.publish);
    assert.equal(jobDefinition('evaluate'), jobCatalog.publish);
  });

  it('names each job after the stage it runs', () => {
    for (const name of JOB_NAMES) assert.equal(jobCatalog[name].stage, name);
  });

  it('rejects unknown job names, listing the valid ones', () => {
    assert.throws(
      () => parsePayload('sample', {}),
      (e: unknown) =>
        e instanceof UnknownJobError &&
        e.code === 'RDLAB_JOB_UNKNOWN' &&
        e.message.includes('prepare, bootstrap, train, publish, report'),
    );
  });

  it('gives BullMQ options with exponential backoff and retention', () => {
    const opts = jobOptions('train');
    assert.equal(opts.attempts, jobCatalog.train.attempts);
    assert.deepEqual(opts.backoff, {
      type: 'exponential',
      delay: jobCatalog.train.backoff.delayMs,
    });
    assert.ok(opts.removeOnComplete && opts.removeOnFail);
    // A fresh object each time: a caller's changes do not leak into the catalog.
    (opts as { attempts?: number }).attempts = 99;
    assert.equal(jobOptions('train').attempts, jobCatalog.train.attempts);
  });

  it('suggests the longest lock of all stages (5 min), renewed at half', () => {
    const longest = Math.max(...JOB_NAMES.map((n) => jobCatalog[n].lockDurationMs));
    assert.equal(longest, 300_000);
    assert.deepEqual(workerOptions(QUEUES.stages), {
      lockDuration: 300_000,
      lockRenewTime: 150_000,
      stalledInterval: 30_000,
      maxStalledCount: 2,
    });
  });

  it('builds validated jobs with caller options merged over the catalog', () => {
    const job = catalogJob('bootstrap', shard, { jobId: 'bootstrap~x', priority: 3 });
    assert.equal(job.queueName, 'rdlab-stages');
    assert.equal(job.opts.jobId, 'bootstrap~x');
    assert.equal(job.opts.priority, 3);
    assert.equal(job.opts.attempts, jobCatalog.bootstrap.attempts);
    assert.throws(() => catalogJob('bootstrap', { ...shard, end: 0 }), JobPayloadError);
  });
});

describe('lockOptionsFromEnv', () => {
  const base = workerOptions(QUEUES.stages);

  function envError(env: Record<string, string>): LockEnvError {
    try {
      lockOptionsFromEnv(base, env);
    } catch (error) {
      assert.ok(error instanceof LockEnvError, `expected LockEnvError, got ${error}`);
      assert.equal(error.code, 'RDLAB_LOCK_ENV_INVALID');
      return error;
    }
    assert.fail(`${JSON.stringify(env)} was accepted`);
  }

  it('keeps the base options when nothing (or an empty value) is set', () => {
    assert.deepEqual(lockOptionsFromEnv(base, {}), base);
    assert.deepEqual(
      lockOptionsFromEnv(base, { RDLAB_LOCK_DURATION_MS: '', RDLAB_STALLED_INTERVAL_MS: '' }),
      base,
    );
  });

  it('sets the lock duration, renewed at half, and the stalled interval', () => {
    const options = lockOptionsFromEnv(base, {
      RDLAB_LOCK_DURATION_MS: '2000',
      RDLAB_STALLED_INTERVAL_MS: '500',
    });
    assert.deepEqual(options, {
      lockDuration: 2_000,
      lockRenewTime: 1_000,
      stalledInterval: 500,
      maxStalledCount: 2,
    });
    assert.deepEqual(lockOptionsFromEnv(base, { RDLAB_LOCK_DURATION_MS: '900000' }), {
      ...base,
      lockDuration: 900_000,
      lockRenewTime: 450_000,
    });
    assert.deepEqual(lockOptionsFromEnv(base, { RDLAB_STALLED_INTERVAL_MS: '5000' }), {
      ...base,
      stalledInterval: 5_000,
    });
    assert.equal(lockOptionsFromEnv(base, { RDLAB_LOCK_DURATION_MS: '1' }).lockRenewTime, 0.5);
  });

  it('returns a fresh object and leaves the base alone', () => {
    const copy = { ...base };
    const options = lockOptionsFromEnv(base, { RDLAB_LOCK_DURATION_MS: '1000' });
    assert.notEqual(lockOptionsFromEnv(base, {}), base);
    assert.deepEqual(base, copy);
    assert.equal(options.lockDuration, 1_000);
  });

  it('reads process.env by default', () => {
    const saved = process.env.RDLAB_STALLED_INTERVAL_MS;
    process.env.RDLAB_STALLED_INTERVAL_MS = '1234';
    try {
      assert.equal(lockOptionsFromEnv(base).stalledInterval, 1_234);
    } finally {
      if (saved === undefined) delete process.env.RDLAB_STALLED_INTERVAL_MS;
      else process.env.RDLAB_STALLED_INTERVAL_MS = saved;
    }
  });

  it('rejects what is not a positive integer of milliseconds, naming the variable', () => {
    for (const bad of ['0', '-1', '1.5', '5m', '5e3', ' 300', '0x10', 'NaN', '2147483648']) {
      const error = envError({ RDLAB_LOCK_DURATION_MS: bad });
      assert.equal(error.variable, 'RDLAB_LOCK_DURATION_MS');
      assert.match(
        error.message,
        /^RDLAB_LOCK_DURATION_MS is '.*': expected a positive integer of milliseconds, at most 2147483647/,
      );
    }
    const error = envError({ RDLAB_LOCK_DURATION_MS: '60000', RDLAB_STALLED_INTERVAL_MS: 'soon' });
    assert.equal(error.variable, 'RDLAB_STALLED_INTERVAL_MS');
    assert.match(error.message, /RDLAB_STALLED_INTERVAL_MS is 'soon'/);
    assert.equal(
      lockOptionsFromEnv(base, { RDLAB_LOCK_DURATION_MS: '2147483647' }).lockDuration,
      2 ** 31 - 1,
    );
  });
});
