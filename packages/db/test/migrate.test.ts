import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DbError, DEFAULT_MIGRATIONS_DIR, migrate } from '../src/index.js';
import { startTestPostgres, type TestPostgres } from './helpers.js';

const INIT = '20261127160000_init';

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
    assert.deepEqual(first.applied, [INIT]);
    const second = await migrate(url);
    assert.deepEqual(second, { applied: [], skipped: [INIT] });

    const bytes = await readFile(join(DEFAULT_MIGRATIONS_DIR, INIT, 'migration.sql'));
    const rows = await pg.sql(
      'SELECT id, checksum, migration_name, finished_at, rolled_back_at, logs, applied_steps_count FROM _prisma_migrations',
      [],
      url,
    );
    assert.equal(rows.length, 1);
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
    assert.deepEqual([...a.applied, ...b.applied], [INIT]);
    assert.deepEqual([...a.skipped, ...b.skipped], [INIT]);
    const rows = await pg.sql('SELECT count(*)::int AS n FROM _prisma_migrations', [], url);
    assert.equal(rows[0]?.n, 1);
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
    const names = await pg.sql('SELECT migration_name FROM _prisma_migrations', [], url);
    assert.deepEqual(
      names.map((r) => r.migration_name),
      [INIT],
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

  it('reports a missing migrations folder', async () => {
    await assert.rejects(migrate(pg.url, { migrationsDir: join(pg.tmp, 'nowhere') }), {
      code: 'RDLAB_DB_MIGRATIONS_MISSING',
    });
  });
});
