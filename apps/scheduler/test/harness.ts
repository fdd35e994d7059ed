/**
 * What the service tests share: real Postgres and Redis in a temporary folder, experiments
 * submitted as the API stores them, polling, and the same sweep run in one process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellRecord, cellSettings, parseSweepSpec, type SweepSpec } from '@rdlab/core';
import {
  createDb,
  type Db,
  type EmbeddedPostgres,
  migrate,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { type RedisServer, startRedisServer } from '@rdlab/jobs';
import { initBackend } from '@rdlab/ml';
import { MemoryMetrics, newCounters, runSweep, silentProgress } from '@rdlab/pipeline';
import { LocalDirectoryStore } from '@rdlab/store';

/**
 * A sweep small enough for service tests, in the spec's YAML: the `tiny` GPT and a one-epoch
 * reward model on the built-in demo data. Each part is the spec's own flow mapping, replaced whole.
 */
export function tinySpec(
  name: string,
  parts: {
    attributes?: string;
    dropout?: string;
    training?: string;
    bootstrap?: string;
    evaluation?: string;
    seeds?: number[];
    /** The `rewardModel` mapping's body. */
    rewardModel?: string;
  } = {},
): string {
  const {
    attributes = '[positive]',
    dropout = '[{ kind: quantile, gamma: 0.5 }]',
    training = '{ batchSize: 8, epochs: 1, learningRate: 1.0e-3, maxLength: 20, temperature: 1.0 }',
    bootstrap = '{ prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 24 }',
    evaluation = '{ prefixes: 8, examples: 1 }',
    seeds = [1],
    rewardModel = '  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }',
  } = parts;
  return `
name: ${name}
datasets: [{ name: demo, source: builtin:demo, attributes: ${attributes} }]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, learningRate: 3.0e-3, batchSize: 32, sentencesPerAttribute: 200 }
rewardModel:
${rewardModel}
dropout: ${dropout}
training: ${training}
bootstrap: ${bootstrap}
evaluation: ${evaluation}
seeds: [${seeds.join(', ')}]
`;
}

const tsx = createRequire(import.meta.url).resolve('tsx');

/**
 * A service (`apps/<name>/src/main.ts`) as its own process from TypeScript source, in its own
 * process group so that {@link killGroup} takes a sandboxed child too. Its output goes nowhere
 * unless RDLAB_TEST_VERBOSE is set (or `stdout: 'pipe'`, to read it).
 */
export function spawnService(
  main: string,
  env: Record<string, string>,
  stdout: 'pipe' | 'ignore' = 'ignore',
): ChildProcess {
  const verbose = Boolean(process.env.RDLAB_TEST_VERBOSE);
  return spawn(process.execPath, ['--conditions=source', '--import', tsx, main], {
    env: { ...process.env, ...env },
    stdio: [
      'ignore',
      stdout === 'pipe' || !verbose ? stdout : 'inherit',
      verbose ? 'inherit' : 'ignore',
    ],
    detached: true,
  });
}

/** SIGKILLs a service's process group and waits for it to exit. */
export async function killGroup(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  process.kill(-child.pid, 'SIGKILL');
  await exited;
}

export interface Services {
  root: string;
  pg: EmbeddedPostgres;
  redis: RedisServer;
  db: Db;
  repos: Repositories;
  stop(): Promise<void>;
}

export async function startServices(label: string): Promise<Services> {
  const root = await mkdtemp(join(tmpdir(), `rdlab-${label}-`));
  await chmod(root, 0o755); // embedded Postgres runs as its own user when we are root
  const pg = await startEmbeddedPostgres({ dataDir: join(root, 'pg') });
  await migrate(pg.url);
  const redis = await startRedisServer({ dataDir: join(root, 'redis') });
  const db = createDb(pg.url);
  const services: Services = {
    root,
    pg,
    redis,
    db,
    repos: new Repositories(db),
    async stop() {
      await db.$disconnect();
      await services.redis.stop();
      await pg.stop();
    },
  };
  return services;
}

/**
 * Creates the experiment and its cells as `POST /v1/experiments` does; with `settings: false`,
 * as it did before cells carried their resolved settings (rows stored then have none).
 */
export async function submit(
  repos: Repositories,
  text: string,
  teamName = 'lab',
  { settings = true }: { settings?: boolean } = {},
) {
  const { spec, cells } = parseSweepSpec(text);
  const team =
    (await repos.teams.findTeamByName(teamName)) ?? (await repos.teams.createTeam(teamName));
  const { experiment } = await repos.experiments.createExperiment({
    teamId: team.id,
    name: spec.name,
    specSubmitted: {},
    specResolved: JSON.parse(JSON.stringify(spec)),
    cells: cells.map((cell) => ({
      ...cellRecord(cell),
      ...(settings ? { settings: JSON.parse(JSON.stringify(cellSettings(spec, cell))) } : {}),
    })),
  });
  return { id: experiment.id, spec, cells };
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 240_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export const finished = (db: Db, id: string) =>
  until(`experiment ${id}`, async () => {
    const e = await db.experiment.findUniqueOrThrow({ where: { id } });
    return ['succeeded', 'failed', 'partial', 'cancelled'].includes(e.status) ? e : null;
  });

/** The same sweep in one process, on a fresh store: what the service must reproduce. */
export async function runLocally(
  root: string,
  spec: SweepSpec,
  cells: ReturnType<typeof parseSweepSpec>['cells'],
) {
  await initBackend();
  return runSweep(
    {
      store: new LocalDirectoryStore(await mkdtemp(join(root, 'local-'))),
      metrics: new MemoryMetrics(),
      progress: silentProgress,
      baseDir: root,
      workDir: join(root, 'local-tmp'),
      counters: newCounters(),
    },
    spec,
    cells,
  );
}
