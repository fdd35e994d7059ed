/**
 * The migrated database is the schema: the catalog matches what schema.prisma implies (tables,
 * column types, nullability, defaults, enums, keys, indexes, foreign keys, with Prisma's names),
 * every model round-trips through the generated client, and the unique constraints hold.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MIGRATIONS_DIR, Prisma } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './helpers.js';
import { readExpectedSchema } from './prisma-schema.js';

const SCHEMA = join(DEFAULT_MIGRATIONS_DIR, '..', 'schema.prisma');
const ACTION: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};
const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

let pg: TestPostgres;
before(async () => {
  pg = await startTestPostgres();
});
after(async () => {
  await pg?.close();
});

describe('the migrated catalog matches schema.prisma', () => {
  it('has the same enums, with their values in order', async () => {
    const expected = await readExpectedSchema(SCHEMA);
    const rows = await pg.sql<{ name: string; labels: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`,
    );
    assert.deepEqual(new Map(rows.map((r) => [r.name, r.labels])), expected.enums);
  });

  it('has the same tables and columns (type, nullability, default)', async () => {
    const expected = await readExpectedSchema(SCHEMA);
    const rows = await pg.sql<{
      table: string;
      name: string;
      type: string;
      nullable: boolean;
      hasDefault: boolean;
    }>(
      `SELECT c.relname AS "table", a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
              NOT a.attnotnull AS nullable, a.atthasdef AS "hasDefault"
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
          AND c.relname <> '_prisma_migrations'
        ORDER BY c.relname, a.attnum`,
    );
    const actual = new Map<string, unknown[]>();
    for (const { table, ...column } of rows)
      actual.set(table, [...(actual.get(table) ?? []), column]);
    assert.deepEqual(
      [...actual.keys()].sort(),
      [...expected.tables.keys()].sort(),
      'the same tables',
    );
    for (const [table, columns] of expected.tables) {
      assert.deepEqual(actual.get(table), columns, `columns of ${table}`);
    }
  });

  it('has the same primary keys, unique and plain indexes, under Prisma names', async () => {
    const expected = await readExpectedSchema(SCHEMA);
    const rows = await pg.sql<{ name: string }>(
      `SELECT i.relname AS name, t.relname AS "table", ix.indisunique AS unique, ix.indisprimary AS primary,
              array_agg(a.attname::text ORDER BY k.ord) AS columns
         FROM pg_index ix
         JOIN pg_class i ON i.oid = ix.indexrelid
         JOIN pg_class t ON t.oid = ix.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'
        GROUP BY i.relname, t.relname, ix.indisunique, ix.indisprimary`,
    );
    assert.deepEqual(
      rows.map((r) => ({ ...r })).sort(byName),
      expected.indexes.map((i) => ({ ...i })).sort(byName),
    );
  });

  it('has the same foreign keys, with their actions', async () => {
    const expected = await readExpectedSchema(SCHEMA);
    const rows = await pg.sql<{ name: string; onDelete: string; onUpdate: string }>(
      `SELECT con.conname AS name, cl.relname AS "table", rf.relname AS "refTable",
              (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,
              (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) AS "refColumns",
              con.confdeltype AS "onDelete", con.confupdtype AS "onUpdate"
         FROM pg_constraint con
         JOIN pg_class cl ON cl.oid = con.conrelid
         JOIN pg_class rf ON rf.oid = con.confrelid
        WHERE con.contype = 'f'`,
    );
    const actual = rows
      .map((r) => ({ ...r, onDelete: ACTION[r.onDelete], onUpdate: ACTION[r.onUpdate] }))
      .sort(byName);
    assert.deepEqual(actual, expected.foreignKeys.map((f) => ({ ...f })).sort(byName));
  });
});

describe('every model round-trips through the generated client', () => {
  const t0 = new Date('2026-11-27T10:11:12.345Z');
  const t1 = new Date('2026-11-27T11:12:13.456Z');
  const t2 = new Date('2026-11-27T12:13:14.567Z');
  const ids = {
    team: 'team-rt',
    user: 'user-rt',
    token: 'token-rt',
    experiment: 'e0123456789abcdef',
  };

  /** Omits updatedAt (Prisma stamps it) and checks it is a Date. */
  const withoutUpdatedAt = <T extends { updatedAt: Date }>(row: T) => {
    assert.ok(row.updatedAt instanceof Date);
    const { updatedAt: _, ...rest } = row;
    return rest;
  };

  it('Team, User, ApiToken', async () => {
    const team = { id: ids.team, name: 'round-trip', createdAt: t0 };
    await pg.db.team.create({ data: team });
    assert.deepEqual(await pg.db.team.findUnique({ where: { id: ids.team } }), team);

    const user = { id: ids.user, email: 'a@example.org', teamId: ids.team, createdAt: t1 };
    await pg.db.user.create({ data: user });
    assert.deepEqual(await pg.db.user.findUnique({ where: { id: ids.user } }), user);

    const token = {
      id: ids.token,
      teamId: ids.team,
      userId: ids.user,
      name: 'ci',
      tokenHash: 'f'.repeat(64),
      prefix: 'rdl_abcd',
      createdAt: t0,
      lastUsedAt: t1,
      revokedAt: t2,
    };
    await pg.db.apiToken.create({ data: token });
    assert.deepEqual(await pg.db.apiToken.findUnique({ where: { id: ids.token } }), token);
  });

  it('Experiment and Cell', async () => {
    const experiment = {
      id: ids.experiment,
      teamId: ids.team,
      ownerTokenId: ids.token,
      name: 'sweep',
      specSubmitted: { datasets: ['tiny'], nested: { a: [1, 2.5, null, true] } },
      specResolved: { datasets: ['tiny'], epochs: 3 },
      status: 'partial' as const,
      idempotencyKey: 'key-1',
      cellCount: 1,
      createdAt: t0,
      startedAt: t1,
      finishedAt: t2,
      error: 'one cell failed',
    };
    await pg.db.experiment.create({ data: experiment });
    const read = await pg.db.experiment.findUnique({ where: { id: ids.experiment } });
    assert.deepEqual(withoutUpdatedAt(read!), experiment);

    const cell = {
      experimentId: ids.experiment,
      id: 'c0123',
      index: 7,
      dataset: 'tiny',
      attribute: 'sentiment',
      target: 'positive',
      dropout: 'quantile 0.8',
      dropoutConfig: { kind: 'quantile', q: 0.8 },
      seed: 42,
      status: 'failed' as const,
      epochsDone: 2,
      createdAt: t1,
      settings: { attribute: 'sentiment', seed: 42 },
    };
    await pg.db.cell.create({ data: cell });
    const readCell = await pg.db.cell.findUnique({
      where: { experimentId_id: { experimentId: ids.experiment, id: 'c0123' } },
    });
    assert.deepEqual(withoutUpdatedAt(readCell!), cell);
  });

  it('StageJob, MetricPoint, EvalResult, GeneratedExample, Worker', async () => {
    const job = {
      id: 'job-rt',
      experimentId: ids.experiment,
      cellId: 'c0123',
      kind: 'evaluate' as const,
      key: `${ids.experiment}:evaluate:c0123`,
      state: 'failed' as const,
      attempts: 3,
      worker: 'w1',
      backend: 'tfjs-wasm',
      queuedAt: t0,
      startedAt: t1,
      finishedAt: t2,
      error: 'boom',
    };
    await pg.db.stageJob.create({ data: job });
    assert.deepEqual(await pg.db.stageJob.findUnique({ where: { id: 'job-rt' } }), job);

    const point = {
      experimentId: ids.experiment,
      cellId: 'c0123',
      stage: 'train',
      epoch: 1,
      step: 17,
      name: 'train/loss',
      value: 1.2345678901234567,
      time: t2,
    };
    const created = await pg.db.metricPoint.create({ data: point });
    assert.equal(typeof created.id, 'bigint');
    assert.deepEqual(await pg.db.metricPoint.findUnique({ where: { id: created.id } }), {
      id: created.id,
      ...point,
    });

    const result = {
      experimentId: ids.experiment,
      cellId: 'c0123',
      epoch: 0,
      metrics: { 'eval/acc': 0.5, 'eval/reward': -0.25 },
      acc: 0.5,
      reward: -0.25,
      createdAt: t1,
    };
    await pg.db.evalResult.create({ data: result });
    assert.deepEqual(
      await pg.db.evalResult.findUnique({
        where: {
          experimentId_cellId_epoch: { experimentId: ids.experiment, cellId: 'c0123', epoch: 0 },
        },
      }),
      result,
    );

    const example = {
      id: 'ex-rt',
      experimentId: ids.experiment,
      cellId: 'c0123',
      epoch: 0,
      prefix: 'The movie was',
      text: ' wonderful — “unicode” ✓',
      reward: 0.75,
      acc: 1,
    };
    await pg.db.generatedExample.create({ data: example });
    assert.deepEqual(await pg.db.generatedExample.findUnique({ where: { id: 'ex-rt' } }), example);

    const worker = {
      id: 'w1',
      backend: 'native',
      hostname: 'node-1',
      currentJob: job.key,
      startedAt: t0,
      lastHeartbeatAt: t1,
    };
    await pg.db.worker.create({ data: worker });
    assert.deepEqual(await pg.db.worker.findUnique({ where: { id: 'w1' } }), worker);
  });

  it('fills the database defaults', async () => {
    const team = await pg.db.team.create({ data: { name: 'defaults' } });
    assert.match(team.id, /^[0-9a-f-]{36}$/, 'a uuid v7');
    assert.ok(team.createdAt instanceof Date);
    const experiment = await pg.db.experiment.create({
      data: {
        id: 'e00000000000000d0',
        teamId: team.id,
        name: 'd',
        specSubmitted: {},
        specResolved: {},
        cellCount: 0,
      },
    });
    assert.equal(experiment.status, 'queued');
    assert.equal(experiment.idempotencyKey, null);
    const [row] =
      await pg.sql(`INSERT INTO metric_points (experiment_id, cell_id, stage, epoch, step, name, value)
      VALUES ('e00000000000000d0', 'c', 'train', 0, 0, 'x', 1) RETURNING id, time`);
    assert.equal(typeof row?.id, 'string', 'bigserial (pg returns int8 as text)');
    assert.ok(row?.time instanceof Date);
  });
});

describe('unique constraints hold', () => {
  const P2002 = (error: unknown) =>
    error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';

  it('on team names, user emails and token hashes', async () => {
    const team = await pg.db.team.create({ data: { name: 'unique' } });
    await assert.rejects(pg.db.team.create({ data: { name: 'unique' } }), P2002);
    await pg.db.user.create({ data: { email: 'u@example.org', teamId: team.id } });
    await assert.rejects(
      pg.db.user.create({ data: { email: 'u@example.org', teamId: team.id } }),
      P2002,
    );
    const token = { teamId: team.id, name: 't', tokenHash: 'a'.repeat(64), prefix: 'rdl_aaaa' };
    await pg.db.apiToken.create({ data: token });
    await assert.rejects(pg.db.apiToken.create({ data: token }), P2002);
  });

  it('on (team, idempotency key), while experiments without a key do not collide', async () => {
    const team = await pg.db.team.create({ data: { name: 'idem' } });
    const other = await pg.db.team.create({ data: { name: 'idem-other' } });
    const base = { name: 'x', specSubmitted: {}, specResolved: {}, cellCount: 0 };
    await pg.db.experiment.create({
      data: { ...base, id: 'e1000000000000001', teamId: team.id, idempotencyKey: 'k' },
    });
    await assert.rejects(
      pg.db.experiment.create({
        data: { ...base, id: 'e1000000000000002', teamId: team.id, idempotencyKey: 'k' },
      }),
      P2002,
    );
    await pg.db.experiment.create({
      data: { ...base, id: 'e1000000000000003', teamId: other.id, idempotencyKey: 'k' },
    });
    await pg.db.experiment.create({ data: { ...base, id: 'e1000000000000004', teamId: team.id } });
    await pg.db.experiment.create({ data: { ...base, id: 'e1000000000000005', teamId: team.id } });
  });

  it('on (experiment, cell id), (experiment, job key) and (experiment, cell, epoch); a cell id may repeat across experiments', async () => {
    const cell = {
      id: 'c-shared',
      index: 0,
      dataset: 'd',
      attribute: 'a',
      target: 't',
      dropout: 'none',
      dropoutConfig: {},
      seed: 1,
    };
    await pg.db.cell.create({ data: { ...cell, experimentId: 'e1000000000000004' } });
    await pg.db.cell.create({ data: { ...cell, experimentId: 'e1000000000000005' } });
    await assert.rejects(
      pg.db.cell.create({ data: { ...cell, experimentId: 'e1000000000000004' } }),
      P2002,
    );

    const job = { experimentId: 'e1000000000000004', kind: 'train' as const, key: 'k1' };
    await pg.db.stageJob.create({ data: job });
    await assert.rejects(pg.db.stageJob.create({ data: job }), P2002);
    await pg.db.stageJob.create({ data: { ...job, experimentId: 'e1000000000000005' } });

    const result = { experimentId: 'e1000000000000004', cellId: 'c-shared', epoch: 1, metrics: {} };
    await pg.db.evalResult.create({ data: result });
    await assert.rejects(pg.db.evalResult.create({ data: result }), P2002);
  });
});

describe('Grafana SQL', () => {
  it('reads a metric series by cell and name, ordered by step', async () => {
    await pg.db.metricPoint.createMany({
      data: [3, 1, 2].map((step) => ({
        experimentId: 'e1000000000000004',
        cellId: 'c-grafana',
        stage: 'train',
        epoch: 0,
        step,
        name: 'train/reward',
        value: step / 10,
      })),
    });
    const rows = await pg.sql(
      'SELECT step, value FROM metric_points WHERE cell_id = $1 AND name = $2 ORDER BY step',
      ['c-grafana', 'train/reward'],
    );
    assert.deepEqual(rows, [
      { step: 1, value: 0.1 },
      { step: 2, value: 0.2 },
      { step: 3, value: 0.3 },
    ]);
    // A time-series panel: $__timeFilter(time) expands to a BETWEEN on the timestamptz column.
    const series = await pg.sql(
      `SELECT time AS "time", value FROM metric_points
        WHERE name = $1 AND time BETWEEN now() - interval '1 hour' AND now() + interval '1 minute'
        ORDER BY time`,
      ['train/reward'],
    );
    assert.equal(series.length, 3);
    assert.ok(series.every((r) => r.time instanceof Date && typeof r.value === 'number'));
  });
});
