/** The README's "Postgres in another package's tests", type-checked and run. */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { createDb, migrate, startEmbeddedPostgres } from '../src/index.js';

it('runs the README harness for other packages', async () => {
  // --- README example starts
  const dir = await mkdtemp(join(tmpdir(), 'rdlab-test-'));
  await chmod(dir, 0o755); // as root the server runs as `postgres`, which must enter the folder
  const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') }); // free port, db `rdlab`
  await migrate(pg.url);
  const db = createDb(pg.url);
  // … in after(): await db.$disconnect(); await pg.stop(); await rm(dir, { recursive: true });
  // --- README example ends
  try {
    assert.equal(await db.team.count(), 0);
  } finally {
    await db.$disconnect();
    await pg.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
