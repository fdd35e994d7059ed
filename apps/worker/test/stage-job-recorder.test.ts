/**
 * Stage-job rows across a Postgres outage, on a real embedded Postgres stopped and restarted on
 * the same port: moves recorded while it is away land, in order, once it is back.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createDb,
  type Db,
  type EmbeddedPostgres,
  migrate,
  Repositories,
  startEmbeddedPostgres,
} from '@rdlab/db';
import { StageJobRecorder } from '../src/stage-job-recorder.js';

let dir: string;
let pg: EmbeddedPostgres;
let db: Db;
let repos: Repositories;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rdlab-recorder-'));
  await chmod(dir, 0o755); // as root, Postgres runs as `postgres` and must enter it
  pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
  await migrate(pg.url);
  db = createDb(pg.url);
  repos = new Repositories(db);
});

after(async () => {
  await db?.$disconnect();
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function stageJob(key: string) {
  const team = (await repos.teams.findTeamByName('lab')) ?? (await repos.teams.createTeam('lab'));
  const { experiment } = await repos.experiments.createExperiment({
    teamId: team.id,
    name: 'recorder',
    specSubmitted: {},
    specResolved: {},
    cells: [],
  });
  await repos.stageJobs.upsertStageJob({ experimentId: experiment.id, key, kind: 'train' });
  return experiment.id;
}

describe('StageJobRecorder', () => {
  it('writes the moves of a Postgres outage, in order, once it is back', async () => {
    const experimentId = await stageJob('train-outage');
    const lines: string[] = [];
    const recorder = new StageJobRecorder(repos.stageJobs, {
      retryDelayMs: 50,
      maxRetryDelayMs: 200,
      log: (line) => lines.push(line),
    });
    await pg.stop();
    recorder.record('train-outage', 'active', { worker: 'w1' });
    recorder.record('train-outage', 'completed');
    await sleep(600); // several refused retries
    assert.equal(recorder.pending, 1);
    pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pg.port });
    for (let i = 0; i < 100 && recorder.pending > 0; i++) await sleep(100);
    assert.equal(recorder.pending, 0);
    const row = await db.stageJob.findUniqueOrThrow({
      where: { experimentId_key: { experimentId, key: 'train-outage' } },
    });
    assert.deepEqual(
      { state: row.state, worker: row.worker, attempts: row.attempts },
      { state: 'completed', worker: 'w1', attempts: 1 },
    );
    assert.ok(row.finishedAt, 'completed last: finishedAt stamped');
    assert.deepEqual(lines, []);
    await recorder.close(1000);
  });

  it('does not retry a move that fails for another reason than an outage', async () => {
    let calls = 0;
    const lines: string[] = [];
    const recorder = new StageJobRecorder(
      {
        transitionByKey: async (...args) => {
          calls++;
          // A NUL character: Postgres refuses the string (22021), whatever the retries.
          return repos.stageJobs.transitionByKey(`${args[0]}\u0000`, args[1], args[2]);
        },
      },
      { retryDelayMs: 10, log: (line) => lines.push(line) },
    );
    recorder.record('bad', 'active');
    for (let i = 0; i < 50 && recorder.pending > 0; i++) await sleep(20);
    assert.equal(recorder.pending, 0);
    assert.equal(calls, 1);
    assert.deepEqual(lines, ['stage job bad → active not recorded']);
  });
});
