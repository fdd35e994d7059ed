import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { hydrateBinarySymlinks, startEmbeddedPostgres } from '../src/index.js';

async function query(url: string, text: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

describe('startEmbeddedPostgres', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'rdlab-embedded-'));
    await chmod(tmp, 0o755);
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('initialises a data directory once, and a second start on it keeps the data', async () => {
    const dataDir = join(tmp, 'keep');
    const first = await startEmbeddedPostgres({ dataDir, user: 'alice', password: 's3cret/:@' });
    assert.match(first.url, /^postgresql:\/\/alice:s3cret%2F%3A%40@127\.0\.0\.1:\d+\/rdlab$/);
    await query(first.url, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
    await first.stop();
    await first.stop(); // idempotent

    const second = await startEmbeddedPostgres({ dataDir, user: 'alice', password: 's3cret/:@' });
    try {
      assert.deepEqual(await query(second.url, 'SELECT v FROM kept'), [{ v: 42 }]);
      assert.deepEqual(await query(second.url, 'SHOW timezone'), [{ TimeZone: 'UTC' }]);
    } finally {
      await second.stop();
    }
  });

  it('leaves the exit code and signal handling to its owner', async () => {
    const index = new URL('../src/index.ts', import.meta.url).href;
    const script = `import(${JSON.stringify(index)}).then(async ({ startEmbeddedPostgres }) => {
      const server = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(join(tmp, 'keep'))}, user: 'alice', password: 's3cret/:@' });
      if (process.listenerCount('SIGTERM') !== 0 || process.listenerCount('beforeExit') !== 0) process.exit(9);
      await server.stop();
      process.exitCode = 3;
    });`;
    const child = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(child.status, 3, child.stderr);
  });

  it('stops the server when its process exits without stop()', async () => {
    const index = new URL('../src/index.ts', import.meta.url).href;
    const dataDir = join(tmp, 'keep');
    const script = `import(${JSON.stringify(index)}).then(async ({ startEmbeddedPostgres }) => {
      await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, user: 'alice', password: 's3cret/:@' });
      process.exit(0);
    });`;
    const child = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(child.status, 0, child.stderr);
    for (let i = 0; i < 100 && existsSync(join(dataDir, 'postmaster.pid')); i++) await sleep(50);
    assert.equal(existsSync(join(dataDir, 'postmaster.pid')), false, 'the server shut down');
  });

  it('listens on the port it is given, and creates the database it names', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = await startEmbeddedPostgres({
      dataDir: join(tmp, 'port'),
      port,
      database: 'other',
    });
    try {
      assert.equal(server.port, port);
      assert.ok(server.url.endsWith(`:${port}/other`));
      assert.deepEqual(await query(server.url, 'SELECT current_database() AS db'), [
        { db: 'other' },
      ]);
    } finally {
      await server.stop();
    }
  });

  it('as root, says which folder the postgres user cannot enter', {
    skip: process.getuid?.() !== 0,
  }, async () => {
    const closed = join(tmp, 'closed');
    await mkdir(closed, { mode: 0o700 });
    await chmod(closed, 0o700);
    await assert.rejects(
      startEmbeddedPostgres({ dataDir: join(closed, 'pg') }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'RDLAB_DB_EMBEDDED_START');
        assert.match(error.message, /closed/);
        return true;
      },
    );
  });
});

describe('hydrateBinarySymlinks', () => {
  it('recreates the library symlinks a skipped postinstall leaves out, idempotently', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rdlab-hydrate-'));
    try {
      await mkdir(join(root, 'native', 'lib'), { recursive: true });
      await writeFile(join(root, 'native', 'lib', 'libpq.so.5.18'), 'elf');
      await writeFile(
        join(root, 'native', 'pg-symlinks.json'),
        JSON.stringify([
          { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so' },
          { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' },
        ]),
      );
      await hydrateBinarySymlinks(root);
      await hydrateBinarySymlinks(root);
      for (const name of ['libpq.so', 'libpq.so.5']) {
        assert.equal(await readlink(join(root, 'native', 'lib', name)), 'libpq.so.5.18');
        assert.equal(await readFile(join(root, 'native', 'lib', name), 'utf8'), 'elf');
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
