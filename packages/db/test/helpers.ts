/** One embedded Postgres per test file, in a temp folder, with helpers for extra databases. */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createDb,
  type Db,
  type EmbeddedPostgres,
  migrate,
  startEmbeddedPostgres,
} from '../src/index.js';

export interface TestPostgres {
  server: EmbeddedPostgres;
  /** The migrated `rdlab` database. */
  url: string;
  db: Db;
  tmp: string;
  /** A new, empty database on the same server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one SQL statement on `url` (default: the migrated database). */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    url?: string,
  ): Promise<R[]>;
  close(): Promise<void>;
}

export async function startTestPostgres(
  options: { migrate?: boolean } = {},
): Promise<TestPostgres> {
  const tmp = await mkdtemp(join(tmpdir(), 'rdlab-db-'));
  await chmod(tmp, 0o755); // as root, the server runs as `postgres` and must enter it
  const server = await startEmbeddedPostgres({ dataDir: join(tmp, 'pg') });
  if (options.migrate ?? true) await migrate(server.url);
  const db = createDb(server.url);
  const sql = async <R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    url = server.url,
  ) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    server,
    url: server.url,
    db,
    tmp,
    sql,
    async createDatabase(name) {
      await sql(`CREATE DATABASE "${name}"`);
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      await db.$disconnect();
      await server.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
