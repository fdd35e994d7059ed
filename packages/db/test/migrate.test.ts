import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DbError, DEFAULT_MIGRATIONS_DIR, migrate } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './helpers.js';

const INIT = '20261127160000_init';
/** Every migration of the repository, in the order they apply. */
const ALL = (await readdir(DEFAULT_MIGRATIONS_DIR, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('migrate', () => {
  let pg: TestPostgres;
  before(async () => {
    pg = await startTestPostgres({ migrate: false });
  });
  after(async () => {
    await pg?.close();
  });

  it('applies every migration once, records Prisma-compatible rows, and is idempotent', async () => {
    const url = await pg.createDatabase('idempotent');
    const first = await migrate(url);
    assert.deepEqual(first.applied, ALL);
    assert.equal(first.applied[0], INIT);
    const second = await migrate(url);
    assert.deepEqual(second, { applied: [], skipped: ALL });

    const bytes = await readFile(join(DEFAULT_MIGRATIONS_DIR, INIT, 'migration.sql'));
    const rows = await pg.sql(
      'SELECT id, checksum, migration_name, finished_at, rolled_back_at, logs, applied_steps_count FROM _prisma_migrations ORDER BY migration_name',
      [],
      url,
    );
    assert.equal(rows.length, ALL.length);
    const row = rows[0]!;
    assert.equal(row.checksum, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(row.migration_name, INIT);
    assert.equal(row.applied_steps_count, 1);
    assert.ok(row.finished_at instanceof Date);
    assert.equal(row.rolled_back_at, null);
    assert.match(row.id, /^[0-9a-f-]{36}$/);
  });

  it('creates _prisma_migrations with the columns Prisma uses', async () => {
    const url = await pg.createDatabase('bookkeeping');
    await migrate(url);
    const columns = await pg.sql(
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      [],
      url,
    );
    assert.deepEqual(
      columns.map((c) => [c.column_name, c.data_type, c.len, c.is_nullable, c.column_default]),
      [
        ['id', 'character varying', 36, 'NO', null],
        ['checksum', 'character varying', 64, 'NO', null],
        ['finished_at', 'timestamp with time zone', null, 'YES', null],
        ['migration_name', 'character varying', 255, 'NO', null],
        ['logs', 'text', null, 'YES', null],
        ['rolled_back_at', 'timestamp with time zone', null, 'YES', null],
        ['started_at', 'timestamp with time zone', null, 'NO', 'now()'],
        ['applied_steps_count', 'integer', null, 'NO', '0'],
      ],
    );
  });

  it('refuses a migration whose file changed after it was applied', async () => {
    const url = await pg.createDatabase('changed');
    const dir = join(pg.tmp, 'changed-migrations');
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await migrate(url, { migrationsDir: dir });
    const file = join(dir, INIT, 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- an edit\n`);
    await assert.rejects(migrate(url, { migrationsDir: dir }), (error: unknown) => {
      assert.ok(error instanceof DbError);
      assert.equal(error.code, 'RDLAB_DB_MIGRATION_CHANGED');
      assert.match(error.message, new RegExp(INIT));
      return true;
    });
  });

  it('lets two concurrent migrate() calls both succeed with one application', async () => {
    const url = await pg.createDatabase('concurrent');
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    assert.deepEqual([...a.applied, ...b.applied], ALL);
    assert.deepEqual([...a.skipped, ...b.skipped], ALL);
    const rows = await pg.sql('SELECT count(*)::int AS n FROM _prisma_migrations', [], url);
    assert.equal(rows[0]?.n, ALL.length);
  });

  it('rolls back a failing migration entirely and records nothing for it', async () => {
    const url = await pg.createDatabase('failing');
    const dir = join(pg.tmp, 'failing-migrations');
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(join(dir, '20261128000000_broken'));
    await writeFile(
      join(dir, '20261128000000_broken', 'migration.sql'),
      'CREATE TABLE "half" ("id" TEXT);\nSELECT no_such_function();\n',
    );
    await assert.rejects(migrate(url, { migrationsDir: dir }), {
      code: 'RDLAB_DB_MIGRATION_FAILED',
    });
    const names = await pg.sql(
      'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
      [],
      url,
    );
    assert.deepEqual(
      names.map((r) => r.migration_name),
      ALL,
    );
    const half = await pg.sql("SELECT to_regclass('half') AS t", [], url);
    assert.equal(half[0]?.t, null);
  });

  it('refuses a migration Prisma recorded as started but never finished', async () => {
    const url = await pg.createDatabase('unfinished');
    await migrate(url);
    await pg.sql(
      `INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'y', '20261128000000_next')`,
      [],
      url,
    );
    const dir = join(pg.tmp, 'unfinished-migrations');
    await cp(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    await mkdir(join(dir, '20261128000000_next'));
    await writeFile(join(dir, '20261128000000_next', 'migration.sql'), 'SELECT 1;\n');
    await assert.rejects(migrate(url, { migrationsDir: dir }), {
      code: 'RDLAB_DB_MIGRATION_FAILED',
    });
  });

  it('makes metric points unique, keeping the oldest of each duplicate stored before', async () => {
    const url = await pg.createDatabase('unique_points');
    const before = join(pg.tmp, 'before-unique');
    await mkdir(before);
    await cp(join(DEFAULT_MIGRATIONS_DIR, INIT), join(before, INIT), { recursive: true });
    await migrate(url, { migrationsDir: before });
    await pg.sql(
      `INSERT INTO teams (id, name) VALUES ('t', 'lab');
       INSERT INTO experiments (id, team_id, name, spec_submitted, spec_resolved, cell_count, updated_at)
         VALUES ('e', 't', 'x', '{}', '{}', 0, now());`,
      [],
      url,
    );
    const point = (step: number, value: number, epoch = 1) =>
      `('e', 'c', 'train', ${epoch}, ${step}, 'train/loss', ${value})`;
    // Step 1 stored three times (a redone epoch), step 2 once, step 1 of another epoch once.
    await pg.sql(
      `INSERT INTO metric_points (experiment_id, cell_id, stage, epoch, step, name, value) VALUES
       ${[point(1, 0.5), point(1, 0.6), point(2, 0.4), point(1, 0.7), point(1, 0.9, 2)].join(', ')}`,
      [],
      url,
    );
    await migrate(url);
    const rows = await pg.sql(
      'SELECT epoch, step, value FROM metric_points ORDER BY epoch, step',
      [],
      url,
    );
    assert.deepEqual(rows, [
      { epoch: 1, step: 1, value: 0.5 },
      { epoch: 1, step: 2, value: 0.4 },
      { epoch: 2, step: 1, value: 0.9 },
    ]);
    await assert.rejects(
      pg.sql(
        `INSERT INTO metric_points (experiment_id, cell_id, stage, epoch, step, name, value) VALUES ${point(2, 1)}`,
        [],
        url,
      ),
      /duplicate key value violates unique constraint "metric_points_experiment_id_cell_id_name_step_epoch_stage_key"/,
    );
  });

  it('reports a missing migrations folder', async () => {
    await assert.rejects(migrate(pg.url, { migrationsDir: join(pg.tmp, 'nowhere') }), {
      code: 'RDLAB_DB_MIGRATIONS_MISSING',
    });
  });
});
