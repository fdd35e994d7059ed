import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DbError, hashToken, type NewCell, Repositories } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './helpers.js';

let pg: TestPostgres;
let repos: Repositories;
let teamId: string;
before(async () => {
  pg = await startTestPostgres();
  repos = new Repositories(pg.db);
  teamId = (await repos.teams.createTeam('lab')).id;
});
after(async () => {
  await pg?.close();
});

const cells = (n: number, prefix = 'c'): NewCell[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i}`,
    index: i,
    dataset: 'tiny',
    attribute: 'sentiment',
    target: 'positive',
    dropout: `quantile 0.${i}`,
    dropoutConfig: { kind: 'quantile', q: i / 10 },
    seed: i,
  }));
const spec = { name: 'sweep', specSubmitted: { a: 1 }, specResolved: { a: 1, b: 2 } };

describe('teams and tokens', () => {
  it('rejects a duplicate team name with RDLAB_DB_CONFLICT', async () => {
    await assert.rejects(repos.teams.createTeam('lab'), { code: 'RDLAB_DB_CONFLICT' });
    assert.equal((await repos.teams.findTeamByName('lab'))?.id, teamId);
  });

  it('issues rdl_ tokens and stores only their sha256', async () => {
    const { token, record } = await repos.tokens.createToken('lab', 'ci');
    assert.match(token, /^rdl_[A-Za-z0-9_-]{43}$/);
    assert.equal(record.prefix, token.slice(0, 8));
    assert.equal('tokenHash' in record, false, 'the hash is not handed out');
    const [row] = await pg.sql('SELECT token_hash FROM api_tokens WHERE id = $1', [record.id]);
    assert.equal(row?.token_hash, hashToken(token));
    const all = await pg.sql('SELECT * FROM api_tokens');
    assert.ok(!JSON.stringify(all).includes(token), 'the secret is stored nowhere');
  });

  it('authenticates the right secret, and stamps lastUsedAt', async () => {
    const { token, record } = await repos.tokens.createToken('lab', 'auth');
    assert.equal(record.lastUsedAt, null);
    assert.deepEqual(await repos.tokens.authenticate(token), { teamId, tokenId: record.id });
    const [row] = await pg.sql('SELECT last_used_at FROM api_tokens WHERE id = $1', [record.id]);
    assert.ok(row?.last_used_at instanceof Date);
  });

  it('refuses a wrong, malformed or revoked secret', async () => {
    const { token, record } = await repos.tokens.createToken('lab', 'revoke-me');
    const wrong = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(await repos.tokens.authenticate(wrong), null);
    assert.equal(await repos.tokens.authenticate('not a token'), null);
    assert.equal(await repos.tokens.authenticate(''), null);
    assert.equal(await repos.tokens.revokeToken(record.id, 'another-team'), false);
    assert.equal(await repos.tokens.revokeToken(record.id, teamId), true);
    assert.equal(await repos.tokens.revokeToken(record.id), false, 'already revoked');
    assert.equal(await repos.tokens.authenticate(token), null);
    const listed = await repos.tokens.listTokens(teamId);
    assert.ok(listed.find((t) => t.id === record.id)?.revokedAt instanceof Date);
  });

  it('refuses a token for an unknown team', async () => {
    await assert.rejects(repos.tokens.createToken('nobody', 'x'), { code: 'RDLAB_DB_NOT_FOUND' });
  });
});

describe('experiments', () => {
  it('creates an experiment and its cells together', async () => {
    const { experiment, created } = await repos.experiments.createExperiment({
      ...spec,
      teamId,
      cells: cells(3),
    });
    assert.equal(created, true);
    assert.match(experiment.id, /^e[0-9a-f]{16}$/);
    assert.equal(experiment.cellCount, 3);
    assert.equal(experiment.status, 'queued');
    const listed = await repos.cells.listCells(experiment.id);
    assert.deepEqual(
      listed.map((c) => [c.id, c.index, c.status, c.epochsDone]),
      [
        ['c0', 0, 'pending', 0],
        ['c1', 1, 'pending', 0],
        ['c2', 2, 'pending', 0],
      ],
    );
  });

  it('leaves nothing behind when a cell fails to insert', async () => {
    const before = await pg.sql('SELECT count(*)::int AS n FROM experiments');
    const bad = [...cells(2), { ...cells(1)[0]!, index: 9 }]; // c0 twice
    await assert.rejects(
      repos.experiments.createExperiment({ ...spec, id: 'e00000000000bad01', teamId, cells: bad }),
      { code: 'RDLAB_DB_CONFLICT' },
    );
    assert.deepEqual(await pg.sql('SELECT count(*)::int AS n FROM experiments'), before);
    assert.deepEqual(
      await pg.sql(
        "SELECT count(*)::int AS n FROM cells WHERE experiment_id = 'e00000000000bad01'",
      ),
      [{ n: 0 }],
    );
  });

  it('returns the first experiment for a repeated idempotency key, also when requests race', async () => {
    const input = { ...spec, teamId, idempotencyKey: 'post-1', cells: cells(2, 'i') };
    const first = await repos.experiments.createExperiment(input);
    const again = await repos.experiments.createExperiment(input);
    assert.equal(again.created, false);
    assert.equal(again.experiment.id, first.experiment.id);

    const racing = await Promise.all(
      Array.from({ length: 4 }, () =>
        repos.experiments.createExperiment({ ...input, idempotencyKey: 'post-2' }),
      ),
    );
    assert.equal(racing.filter((r) => r.created).length, 1);
    assert.equal(new Set(racing.map((r) => r.experiment.id)).size, 1);
    assert.equal(
      (await repos.experiments.findByIdempotencyKey(teamId, 'post-2'))?.id,
      racing[0]?.experiment.id,
    );
  });

  it('scopes reads to the team', async () => {
    const other = await repos.teams.createTeam('other-lab');
    const { experiment } = await repos.experiments.createExperiment({
      ...spec,
      teamId,
      cells: [],
    });
    assert.equal((await repos.experiments.getExperiment(teamId, experiment.id))?.id, experiment.id);
    assert.equal(await repos.experiments.getExperiment(other.id, experiment.id), null);
  });

  it('lists a team newest first, page by page with a cursor (ties broken by id)', async () => {
    const team = await repos.teams.createTeam('paged');
    const sameTime = new Date('2026-11-27T00:00:00Z');
    const base = { ...spec, teamId: team.id, cellCount: 0 };
    for (const id of ['e0000000000000p02', 'e0000000000000p04', 'e0000000000000p01'])
      await pg.db.experiment.create({ data: { ...base, id, createdAt: sameTime } });
    await pg.db.experiment.create({
      data: { ...base, id: 'e0000000000000p00', createdAt: new Date('2026-11-28T00:00:00Z') },
    });
    await pg.db.experiment.create({
      data: { ...base, id: 'e0000000000000p09', createdAt: new Date('2026-11-26T00:00:00Z') },
    });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await repos.experiments.listExperiments(team.id, { limit: 2, cursor });
      seen.push(...page.items.map((e) => e.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [
      'e0000000000000p00',
      'e0000000000000p04',
      'e0000000000000p02',
      'e0000000000000p01',
      'e0000000000000p09',
    ]);
    await assert.rejects(repos.experiments.listExperiments(team.id, { limit: 0 }), {
      code: 'RDLAB_DB_INVALID_OPTIONS',
    });
  });

  it('stamps startedAt once and finishedAt on a terminal status; onlyFrom guards', async () => {
    const { experiment } = await repos.experiments.createExperiment({ ...spec, teamId, cells: [] });
    const running = await repos.experiments.updateExperimentStatus(experiment.id, 'running');
    assert.ok(running?.startedAt instanceof Date);
    const again = await repos.experiments.updateExperimentStatus(experiment.id, 'running');
    assert.deepEqual(again?.startedAt, running?.startedAt);
    const cancelled = await repos.experiments.updateExperimentStatus(experiment.id, 'cancelled');
    assert.ok(cancelled?.finishedAt instanceof Date);
    assert.equal(
      await repos.experiments.updateExperimentStatus(experiment.id, 'succeeded', {
        onlyFrom: ['running'],
      }),
      null,
    );
    const failed = await repos.experiments.updateExperimentStatus(experiment.id, 'failed', {
      error: 'boom',
    });
    assert.equal(failed?.error, 'boom');
    await assert.rejects(repos.experiments.updateExperimentStatus('e-none', 'running'), {
      code: 'RDLAB_DB_NOT_FOUND',
    });
  });

  it('composes with a caller transaction (rolled back together)', async () => {
    await assert.rejects(
      pg.db.$transaction(async (tx) => {
        await repos.experiments.createExperiment(
          { ...spec, id: 'e00000000000tx001', teamId, cells: cells(1) },
          tx,
        );
        throw new Error('abort');
      }),
      /abort/,
    );
    assert.equal(await repos.experiments.getExperiment(teamId, 'e00000000000tx001'), null);
  });

  it('inside a caller transaction, a failed create rolls back only itself (a savepoint)', async () => {
    await pg.db.$transaction(async (tx) => {
      await repos.teams.createTeam('tx-team', tx);
      await assert.rejects(
        repos.experiments.createExperiment(
          { ...spec, id: 'e00000000000tx002', teamId, cells: [...cells(1), ...cells(1)] },
          tx,
        ),
        { code: 'RDLAB_DB_CONFLICT' },
      );
    });
    assert.ok(await repos.teams.findTeamByName('tx-team'));
    assert.equal(await repos.experiments.getExperiment(teamId, 'e00000000000tx002'), null);
  });
});

describe('cells, stage jobs, results, workers', () => {
  let experimentId: string;
  before(async () => {
    experimentId = (
      await repos.experiments.createExperiment({ ...spec, teamId, cells: cells(2, 'k') })
    ).experiment.id;
  });

  it('updates a cell and counts cells by status', async () => {
    const cell = await repos.cells.updateCell(experimentId, 'k1', {
      status: 'running',
      epochsDone: 2,
    });
    assert.equal(cell.status, 'running');
    assert.equal(cell.epochsDone, 2);
    assert.deepEqual(await repos.cells.countCellsByStatus(experimentId), {
      pending: 1,
      running: 1,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
    });
    await assert.rejects(repos.cells.updateCell(experimentId, 'nope', { epochsDone: 1 }), {
      code: 'RDLAB_DB_NOT_FOUND',
    });
  });

  it('upserts stage jobs by key, moves them through states and counts them', async () => {
    const prepare = await repos.stageJobs.upsertStageJob({
      experimentId,
      key: `${experimentId}:prepare`,
      kind: 'prepare',
    });
    assert.equal(prepare.state, 'waiting');
    const same = await repos.stageJobs.upsertStageJob({
      experimentId,
      key: `${experimentId}:prepare`,
      kind: 'prepare',
    });
    assert.equal(same.id, prepare.id);
    for (const cellId of ['k0', 'k1'])
      await repos.stageJobs.upsertStageJob({
        experimentId,
        key: `${experimentId}:train:${cellId}`,
        kind: 'train',
        cellId,
      });

    const active = await repos.stageJobs.transitionStageJob(
      experimentId,
      `${experimentId}:prepare`,
      'active',
      { worker: 'w1', backend: 'tfjs-wasm' },
    );
    assert.equal(active.attempts, 1);
    assert.ok(active.startedAt instanceof Date);
    assert.equal(active.worker, 'w1');
    const done = await repos.stageJobs.transitionStageJob(
      experimentId,
      `${experimentId}:prepare`,
      'completed',
    );
    assert.ok(done.finishedAt instanceof Date);
    await repos.stageJobs.transitionStageJob(experimentId, `${experimentId}:train:k0`, 'active');
    const failed = await repos.stageJobs.transitionStageJob(
      experimentId,
      `${experimentId}:train:k0`,
      'failed',
      { error: 'out of memory' },
    );
    assert.equal(failed.error, 'out of memory');
    const retried = await repos.stageJobs.transitionStageJob(
      experimentId,
      `${experimentId}:train:k0`,
      'active',
    );
    assert.equal(retried.attempts, 2);
    assert.equal(retried.error, null);
    assert.equal(retried.finishedAt, null);

    const counts = await repos.stageJobs.countStageJobs(experimentId);
    assert.deepEqual(counts.prepare, {
      waiting: 0,
      active: 0,
      completed: 1,
      failed: 0,
      cancelled: 0,
    });
    assert.deepEqual(counts.train, {
      waiting: 1,
      active: 1,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    assert.equal(counts.report.waiting, 0);
    assert.equal((await repos.stageJobs.listStageJobs(experimentId)).length, 3);
    // A row from before the publish job got its name counts as publish.
    await repos.stageJobs.upsertStageJob({ experimentId, key: 'evaluate~old', kind: 'evaluate' });
    await repos.stageJobs.upsertStageJob({ experimentId, key: 'publish~new', kind: 'publish' });
    const renamed = await repos.stageJobs.countStageJobs(experimentId);
    assert.equal(renamed.publish.waiting, 2);
    assert.equal('evaluate' in renamed, false);
    await assert.rejects(repos.stageJobs.transitionStageJob(experimentId, 'nope', 'active'), {
      code: 'RDLAB_DB_NOT_FOUND',
    });
  });

  it('upserts evaluation results and replaces generated examples', async () => {
    await repos.results.upsertEvalResult({
      experimentId,
      cellId: 'k0',
      epoch: 0,
      metrics: { 'eval/acc': 0.4 },
      acc: 0.4,
    });
    const updated = await repos.results.upsertEvalResult({
      experimentId,
      cellId: 'k0',
      epoch: 0,
      metrics: { 'eval/acc': 0.5 },
      acc: 0.5,
      reward: 0.1,
    });
    assert.equal(updated.acc, 0.5);
    assert.equal((await repos.results.listEvalResults(experimentId, 'k0')).length, 1);

    const examples = [
      { prefix: 'a', text: ' one', reward: 0.1 },
      { prefix: 'b', text: ' two', acc: 1 },
    ];
    assert.equal(await repos.results.replaceExamples(experimentId, 'k0', 1, examples), 2);
    assert.equal(await repos.results.replaceExamples(experimentId, 'k0', 1, examples), 2);
    const listed = await repos.results.listExamples(experimentId, 'k0', 1);
    assert.deepEqual(listed.map((e) => [e.prefix, e.text, e.reward, e.acc]).sort(), [
      ['a', ' one', 0.1, null],
      ['b', ' two', null, 1],
    ]);
  });

  it('records worker heartbeats and lists live workers', async () => {
    const first = await repos.workers.heartbeat({ id: 'w-a', backend: 'native', hostname: 'h1' });
    const second = await repos.workers.heartbeat({
      id: 'w-a',
      backend: 'native',
      hostname: 'h1',
      currentJob: 'job-1',
    });
    assert.deepEqual(second.startedAt, first.startedAt);
    assert.ok(second.lastHeartbeatAt >= first.lastHeartbeatAt);
    assert.equal(second.currentJob, 'job-1');
    await pg.sql(
      `INSERT INTO workers (id, backend, hostname, started_at, last_heartbeat_at)
       VALUES ('w-stale', 'native', 'h2', now() - interval '1 hour', now() - interval '1 hour')`,
    );
    assert.deepEqual(
      (await repos.workers.listWorkers()).map((w) => w.id),
      ['w-a', 'w-stale'],
    );
    assert.deepEqual(
      (await repos.workers.listWorkers({ aliveWithinMs: 60_000 })).map((w) => w.id),
      ['w-a'],
    );
    assert.equal(await repos.workers.removeWorker('w-stale'), true);
    assert.equal(await repos.workers.removeWorker('w-stale'), false);
  });

  it('throws DbError instances', async () => {
    const error = await repos.cells.updateCell(experimentId, 'nope', {}).catch((e: unknown) => e);
    assert.ok(error instanceof DbError);
  });
});
