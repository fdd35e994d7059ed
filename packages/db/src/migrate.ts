/**
 * Applies Prisma's migrations offline, with `pg`, and records them in `_prisma_migrations`
 * exactly as `prisma migrate deploy` does, so the two can take turns on one database.
 *
 * `prisma migrate` needs the native schema engine, which it downloads; air-gapped machines
 * cannot. The folders stay in Prisma's layout (`prisma/migrations/<timestamp>_<name>/
 * migration.sql`), so wherever the engine is available, `prisma migrate deploy` sees what this
 * applied (same table, same sha256 checksum) and carries on.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DbError } from './errors.js';

/** The repository's `prisma/migrations`, from src/ (tsx) and dist/ (built) alike. */
export const DEFAULT_MIGRATIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '../../../prisma/migrations',
);

/**
 * The advisory-lock key Prisma's schema engine takes on PostgreSQL (`pg_advisory_lock(72707369)`),
 * so `migrate()` and a concurrent `prisma migrate deploy` also wait for each other.
 */
const MIGRATION_LOCK_KEY = 72707369;

/** `_prisma_migrations`, column for column as Prisma's schema engine creates it. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrateOptions {
  /**
   * Folder of `<timestamp>_<name>/migration.sql` folders.
   * @defaultValue the repository's `prisma/migrations`
   */
  migrationsDir?: string;
  /** Progress messages (one per applied migration). @defaultValue no output */
  log?: (message: string) => void;
}

export interface MigrateResult {
  /** Migrations this call applied, in order. */
  applied: string[];
  /** Migrations that were already applied (checksums verified). */
  skipped: string[];
}

interface Migration {
  name: string;
  sql: string;
  /** sha256 (hex) of the migration.sql bytes: what Prisma records. */
  checksum: string;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/**
 * Applies every migration not yet in `_prisma_migrations`, in name order, each in its own
 * transaction, under an advisory lock (two processes migrating at once: one applies, the other
 * waits and finds nothing left to do). Idempotent.
 *
 * Throws {@link DbError} `RDLAB_DB_MIGRATION_CHANGED` when an applied migration's file no
 * longer matches its recorded checksum, `RDLAB_DB_MIGRATION_FAILED` when one fails (it is
 * rolled back and not recorded) or a failed attempt of Prisma's is recorded, and
 * `RDLAB_DB_MIGRATIONS_MISSING` when the folder holds no migration.
 */
export async function migrate(
  databaseUrl: string,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const migrations = await readMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await client.query(CREATE_MIGRATIONS_TABLE);
      const { rows } = await client.query<MigrationRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      );
      const result: MigrateResult = { applied: [], skipped: [] };
      for (const migration of migrations) {
        const records = rows.filter(
          (r) => r.migration_name === migration.name && r.rolled_back_at === null,
        );
        const done = records.find((r) => r.finished_at !== null);
        if (done) {
          if (done.checksum !== migration.checksum) {
            throw new DbError(
              'RDLAB_DB_MIGRATION_CHANGED',
              `migration ${migration.name} was applied with checksum ${done.checksum}, but its migration.sql now hashes to ${migration.checksum}: never edit an applied migration, add a new one`,
            );
          }
          result.skipped.push(migration.name);
          continue;
        }
        if (records.length > 0) {
          throw new DbError(
            'RDLAB_DB_MIGRATION_FAILED',
            `migration ${migration.name} is recorded as started but not finished (a failed prisma migrate deploy?); fix the database, then run prisma migrate resolve --rolled-back ${migration.name}`,
          );
        }
        await apply(client, migration);
        log(`applied migration ${migration.name}`);
        result.applied.push(migration.name);
      }
      return result;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await client.end();
  }
}

/** Reads the migration folders in name (= timestamp) order. */
async function readMigrations(dir: string): Promise<Migration[]> {
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (cause) {
    throw new DbError('RDLAB_DB_MIGRATIONS_MISSING', `cannot read migrations folder ${dir}`, {
      cause,
    });
  }
  const migrations: Migration[] = [];
  for (const name of entries) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name, 'migration.sql'));
    } catch {
      continue; // Prisma skips folders without migration.sql too
    }
    const checksum = createHash('sha256').update(bytes).digest('hex');
    migrations.push({ name, sql: bytes.toString('utf8'), checksum });
  }
  if (migrations.length === 0) {
    throw new DbError('RDLAB_DB_MIGRATIONS_MISSING', `no */migration.sql under ${dir}`);
  }
  return migrations;
}

/** One migration, its bookkeeping row included, in one transaction: all of it or none. */
async function apply(client: pg.Client, migration: Migration): Promise<void> {
  const id = randomUUID();
  await client.query('BEGIN');
  try {
    await client.query(
      'INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count") VALUES ($1, $2, $3, now(), 0)',
      [id, migration.checksum, migration.name],
    );
    await client.query(migration.sql);
    await client.query(
      'UPDATE "_prisma_migrations" SET "finished_at" = now(), "applied_steps_count" = 1 WHERE "id" = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => {});
    throw new DbError(
      'RDLAB_DB_MIGRATION_FAILED',
      `migration ${migration.name} failed and was rolled back: ${(cause as Error).message}`,
      { cause },
    );
  }
}
