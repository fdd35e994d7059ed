/**
 * Drill: Postgres stops mid-run (reliability issue 12, item 1c). Real processes: embedded
 * Postgres, redis-server, the scheduler, a worker process (its sandboxed child trains the cell)
 * and an API process listening on loopback. While the cell trains, Postgres is stopped (its port
 * refuses connections) for `OUTAGE_MS`, then restarted on the same port and data directory.
 *
 * - Meanwhile every answer of `GET /v1/experiments/:id` and `GET /v1/experiments` is a 503
 *   RDLAB_UNAVAILABLE with `Retry-After`, within `REQUEST_BOUND_MS`; never a 500 or a hang.
 * - After the restart the same API process answers 200 again by itself (it is not restarted).
 * - The worker survives (no exit), the experiment succeeds, and every metric point the cell
 *   produced is in Postgres exactly once: each training step has every metric, each epoch its
 *   evaluation, no key twice. Points recorded during the outage were buffered by the sink.
 * - The scheduler holds its leader lock again (a restart ends the session that held it), and
 *   the worker's heartbeat and stage-job rows are current.
 * - A stage that needs Postgres while it is away (the report) is delayed, not failed: it spends
 *   none of its attempts (3, 10 s + 20 s of backoff: fewer than a 60 s outage needs) and runs
 *   once Postgres is back.
 *
 * `RDLAB_DRILLS=full` stops Postgres for 60 s; otherwise 9 s, so the file stays near a minute.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '@rdlab/db';
import { catalogJob, QUEUES, redisConnection } from '@rdlab/jobs';
import { specKeyOf } from '@rdlab/plan';
import { createLogger } from '@rdlab/telemetry';
import { Queue } from 'bullmq';
import { LEADER_LOCK, type RunningScheduler, startScheduler } from '../../src/main.js';
import {
  finished,
  killGroup,
  type Services,
  spawnService,
  startServices,
  submit,
  tinySpec,
  until,
} from '../harness.js';

const FULL = process.env.RDLAB_DRILLS === 'full';
const OUTAGE_MS = FULL ? 60_000 : 9_000;
/** Longest a request may take while Postgres is away: a connection refused is quick. */
const REQUEST_BOUND_MS = 5_000;
/** Longest the API may take to answer 200 again once Postgres accepts connections. */
const RECOVERY_BOUND_MS = 15_000;
const VERBOSE = Boolean(process.env.RDLAB_TEST_VERBOSE);

const workerMain = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));
const apiMain = fileURLToPath(new URL('../../../api/src/main.ts', import.meta.url));

// 400 prefixes × 5 samples / batch 8 = 250 steps an epoch (≈1 s on an idle 2-core machine), so
// points are recorded while Postgres is away and written after it returns. Where training ends
// first, the sink's close() holds the job until Postgres is back: the property is the same.
const STEPS_PER_EPOCH = (400 * 5) / 8;
const EPOCHS = FULL ? 40 : 12;
const SPEC = tinySpec('postgres-outage', {
  training: `{ batchSize: 8, epochs: ${EPOCHS}, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0, samplesPerEpoch: all }`,
  bootstrap: '{ prefixesPerAttribute: 400, samplesPerPrefix: 5, shardSize: 200 }',
  evaluation: '{ prefixes: 8, examples: 1, trainingSamples: 0 }',
});

type Phase = 'before' | 'stopping' | 'down' | 'restarting' | 'after';
interface Answer {
  phase: Phase;
  path: string;
  status: number;
  code: string | null;
  retryAfter: string | null;
  ms: number;
  at: number;
}

describe('drill: postgres outage', { timeout: FULL ? 600_000 : 180_000 }, () => {
  let services: Services;
  let scheduler: RunningScheduler;
  let restarted: EmbeddedPostgres | undefined;
  let api: ChildProcess | undefined;
  let apiUrl = '';
  let worker: ChildProcess | undefined;
  /** The first test's experiment, for the second. */
  let done: { id: string; specKey: string } | undefined;

  before(async () => {
    services = await startServices('pg-outage');
    const env = {
      REDIS_URL: services.redis.url,
      DATABASE_URL: services.pg.url,
      RDLAB_STORE: join(services.root, 'artifacts'),
    };
    scheduler = await startScheduler({
      redisUrl: env.REDIS_URL,
      databaseUrl: env.DATABASE_URL,
      store: env.RDLAB_STORE,
      intervalMs: 200,
      logger: createLogger({ name: 'scheduler', level: VERBOSE ? 'info' : 'silent' }),
    });
    worker = spawnService(
      workerMain,
      {
        ...env,
        RDLAB_BASE_DIR: services.root,
        RDLAB_WORKER_ID: 'steady',
        RDLAB_SHUTDOWN_GRACE_MS: '1000',
      },
      'ignore',
    );
    api = spawnService(apiMain, { ...env, RDLAB_API_PORT: '0', RDLAB_LOG_LEVEL: 'info' }, 'pipe');
    // Its pino lines: the first says where it listens; the rest are read and dropped.
    const lines = createInterface({ input: api.stdout as NonNullable<ChildProcess['stdout']> });
    apiUrl = await new Promise<string>((resolve, reject) => {
      api?.once('exit', (code) => reject(new Error(`the API exited with ${code}`)));
      lines.on('line', (line) => {
        if (VERBOSE) console.log(line);
        const url = /"url":"(http:[^"]+)"/.exec(line)?.[1];
        if (url) resolve(url);
      });
    });
  });

  after(async () => {
    await Promise.all([killGroup(worker), killGroup(api)]);
    await scheduler?.close();
    await restarted?.stop();
    await services?.stop();
    if (services) await rm(services.root, { recursive: true, force: true });
  });

  it('buffers every metric point, answers 503 with Retry-After meanwhile, and recovers by itself', async () => {
    const team = await services.repos.teams.createTeam('lab');
    const { token } = await services.repos.tokens.createToken(team.name, 'drill');
    const { id, cells, spec } = await submit(services.repos, SPEC);
    const cellId = cells[0]!.id;
    await until(
      'training to be under way',
      async () =>
        (await services.db.metricPoint.count({
          where: { experimentId: id, cellId, name: 'train/loss' },
        })) >= 20,
      120_000,
    );

    // The API, polled without pause from before the outage until after the recovery.
    let phase: Phase = 'before';
    let polling = true;
    const answers: Answer[] = [];
    const ask = async (path: string): Promise<Answer> => {
      const t0 = performance.now();
      const at = Date.now();
      const seen = phase;
      try {
        const response = await fetch(`${apiUrl}${path}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(REQUEST_BOUND_MS),
        });
        const body = await response.text();
        let code: string | null = null;
        try {
          code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? null;
        } catch {}
        const ms = performance.now() - t0;
        return {
          phase: seen,
          path,
          status: response.status,
          code,
          retryAfter: response.headers.get('retry-after'),
          ms,
          at,
        };
      } catch {
        // A timeout or a reset: recorded as status 0, which the assertions refuse.
        const ms = performance.now() - t0;
        return { phase: seen, path, status: 0, code: null, retryAfter: null, ms, at };
      }
    };
    const poller = (async () => {
      while (polling) {
        for (const path of [`/v1/experiments/${id}`, '/v1/experiments'])
          answers.push(await ask(path));
        await sleep(200);
      }
    })();

    await until(
      'the API to answer before the outage',
      async () => answers.some((a) => a.status === 200),
      30_000,
    );
    phase = 'stopping';
    const stoppedAt = new Date();
    await services.pg.stop();
    phase = 'down';
    await sleep(OUTAGE_MS);
    phase = 'restarting';
    restarted = await startEmbeddedPostgres({
      dataDir: join(services.root, 'pg'),
      port: services.pg.port,
    });
    const restartedAt = new Date();
    phase = 'after';
    await until(
      'the API to answer 200 again',
      async () => {
        const last = answers.filter((a) => a.phase === 'after').slice(-2);
        return last.length === 2 && last.every((a) => a.status === 200);
      },
      RECOVERY_BOUND_MS,
    );
    await sleep(1000); // a few more rounds: it stays recovered
    polling = false;
    await poller;

    // The API: 200 before, 503 + Retry-After while Postgres was down, never a 500 or a hang;
    // 200 again after, from the same process.
    assert.ok(
      answers.some((a) => a.phase === 'before' && a.status === 200),
      'the API answered before the outage',
    );
    assert.deepEqual(
      answers.filter((a) => a.status === 0 || a.status >= 500).filter((a) => a.status !== 503),
      [],
      'no 5xx other than 503, no request past the bound',
    );
    const down = answers.filter((a) => a.phase === 'down');
    assert.ok(down.length >= (2 * OUTAGE_MS) / 1000, `${down.length} answers during the outage`);
    for (const a of down) {
      assert.equal(a.status, 503, `${a.path} during the outage`);
      assert.equal(a.code, 'RDLAB_UNAVAILABLE');
      assert.match(a.retryAfter ?? '', /^[1-9]\d*$/, 'Retry-After: delay-seconds');
      assert.ok(a.ms < REQUEST_BOUND_MS, `${a.path} answered in ${a.ms} ms`);
    }
    const firstOk = answers.findIndex((a) => a.phase === 'after' && a.status === 200);
    const recovered = answers[firstOk] as Answer;
    assert.deepEqual(
      answers.slice(firstOk).filter((a) => a.status !== 200),
      [],
      'once recovered, every answer is 200',
    );
    assert.equal(api?.exitCode, null, 'the API process did not exit (nor was restarted)');

    // The run: finished, by the same worker process, with every point exactly once.
    const experiment = await finished(services.db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    assert.equal(worker?.exitCode, null, 'the worker process did not exit');
    assert.equal(worker?.signalCode, null, 'the worker process was not killed');

    const points = async (sql: string, ...values: unknown[]) =>
      (await services.db.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...values)).map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]),
        ),
      );
    const steps = EPOCHS * STEPS_PER_EPOCH;
    const train = await points(
      `SELECT name, count(*) AS n, count(DISTINCT step) AS distinct_steps, min(step) AS first, max(step) AS last
         FROM metric_points WHERE experiment_id = $1 AND cell_id = $2 AND stage = 'train'
        GROUP BY name ORDER BY name`,
      id,
      cellId,
    );
    assert.ok(train.some((r) => r.name === 'train/loss'));
    for (const row of train)
      assert.deepEqual(
        row,
        { name: row.name, n: steps, distinct_steps: steps, first: 1, last: steps },
        `every step has ${row.name} once`,
      );
    const evals = await points(
      `SELECT epoch, count(*) AS n FROM metric_points
        WHERE experiment_id = $1 AND cell_id = $2 AND stage = 'eval' GROUP BY epoch ORDER BY epoch`,
      id,
      cellId,
    );
    assert.deepEqual(
      evals.map((r) => r.epoch),
      Array.from({ length: EPOCHS + 1 }, (_, e) => e),
      'an evaluation at the start and after every epoch',
    );
    const perEpoch = evals[1]?.n as number;
    assert.ok(
      evals.slice(1).every((r) => r.n === perEpoch),
      'every epoch has the same eval metrics',
    );
    const [duplicated] = await points(
      `SELECT count(*) AS n FROM (SELECT 1 FROM metric_points WHERE experiment_id = $1
        GROUP BY cell_id, stage, epoch, step, name HAVING count(*) > 1) d`,
      id,
    );
    assert.equal(duplicated?.n, 0, 'no point stored twice');
    const expected = train.length * steps + (evals[0]?.n as number) + EPOCHS * perEpoch;
    const [stored] = await points(
      `SELECT count(*) AS n FROM metric_points
        WHERE experiment_id = $1 AND cell_id = $2 AND stage IN ('train', 'eval')`,
      id,
      cellId,
    );
    const lost = expected - (stored?.n as number);
    assert.equal(lost, 0);
    // Recorded (stamped by the sink) while Postgres was away: buffered, then written.
    const [buffered] = await points(
      `SELECT count(*) AS n FROM metric_points WHERE experiment_id = $1 AND time > $2 AND time < $3`,
      id,
      stoppedAt,
      restartedAt,
    );
    assert.ok(
      (buffered?.n as number) > 0,
      'the cell trained during the outage (else the drill proved nothing)',
    );

    // The services' own bookkeeping caught up.
    const leader = await until(
      'the scheduler to hold its leader lock again',
      async () => {
        const [row] = await points(
          `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
          LEADER_LOCK,
        );
        return row?.n === 1 ? row : null;
      },
      5_000,
    ).catch(() => null);
    assert.ok(leader, 'the scheduler took its leader lock again after the restart');
    const jobs = await services.db.stageJob.findMany({ where: { experimentId: id } });
    assert.deepEqual(
      jobs.filter((j) => j.state !== 'completed').map((j) => `${j.key}: ${j.state}`),
      [],
      'every stage job recorded as completed',
    );
    const beat = await services.db.worker.findUniqueOrThrow({ where: { id: 'steady' } });
    assert.ok(beat.lastHeartbeatAt > restartedAt, 'the worker heartbeats again');

    done = { id, specKey: specKeyOf(spec) };
    const maxMs = Math.max(...down.map((a) => a.ms));
    const recoverS = (recovered.at - restartedAt.getTime()) / 1000;
    console.log(
      `drill: postgres outage | ${OUTAGE_MS / 1000} s down, ${down.length} × 503 (max ${maxMs.toFixed(0)} ms), ${buffered?.n} points buffered, ${lost} lost, 0 duplicated, API 200 again ${Math.max(0, recoverS).toFixed(1)} s after restart | pass`,
    );
  });
  it('delays a stage that needs Postgres while it is away, spending none of its attempts', async () => {
    assert.ok(done, 'needs the finished experiment of the test before');
    const queue = new Queue(QUEUES.stages, {
      connection: redisConnection(services.redis.url, { role: 'producer' }),
    });
    try {
      // The report again (it is idempotent), under an id of its own.
      const job = catalogJob(
        'report',
        { version: 1, experimentId: done.id, specKey: done.specKey },
        { jobId: `${done.id}-report-during-outage` },
      );
      await restarted?.stop();
      await queue.add(job.name, job.data, job.opts);
      const seen = await until(
        'the worker to run the report and put it back',
        async () => {
          const j = await queue.getJob(job.opts.jobId as string);
          return j?.processedOn && (await j.getState()) === 'delayed' ? j : null;
        },
        30_000,
      );
      assert.equal(seen.attemptsMade, 0, `no attempt spent (${seen.failedReason ?? ''})`);
      const downMs = FULL ? OUTAGE_MS : 3_000;
      await sleep(downMs);
      const later = await queue.getJob(job.opts.jobId as string);
      assert.equal(later?.attemptsMade, 0, 'still no attempt spent');
      assert.notEqual(await later?.getState(), 'failed');
      restarted = await startEmbeddedPostgres({
        dataDir: join(services.root, 'pg'),
        port: services.pg.port,
      });
      const t0 = Date.now();
      const ran = await until(
        'the report to run once Postgres is back',
        async () => {
          const j = await queue.getJob(job.opts.jobId as string);
          return (await j?.getState()) === 'completed' ? j : null;
        },
        60_000,
      );
      assert.equal(ran.attemptsMade, 1, 'one attempt: the one that ran with Postgres back');
      const experiment = await services.db.experiment.findUniqueOrThrow({ where: { id: done.id } });
      assert.equal(experiment.status, 'succeeded');
      assert.equal(worker?.exitCode, null, 'the worker process did not exit');
      console.log(
        `drill: postgres outage, stage waiting | report job ${downMs / 1000} s without Postgres: 0 attempts spent, ran ${((Date.now() - t0) / 1000).toFixed(1)} s after restart | pass`,
      );
    } finally {
      await queue.close();
    }
  });
});
