/**
 * The local directory store on a full disk (a real one: a 256 KiB tmpfs): a put that does not fit
 * fails with RDLAB_DISK_FULL naming the folder and the key, leaves neither the object nor a
 * temporary file behind, and an object it would have replaced stays whole.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ArtifactNotFoundError,
  DiskFullError,
  freeBytes,
  LocalDirectoryStore,
} from '../src/index.js';
import { mountTmpfs, type Tmpfs } from './tmpfs.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

describe('LocalDirectoryStore on a full disk', async () => {
  const disk = await mountTmpfs(
    join(await mkdtemp(join(tmpdir(), 'rdlab-disk-')), 'disk'),
    256 * 1024,
  );
  const skip = typeof disk === 'string' ? disk : false;
  let store: LocalDirectoryStore;
  before(() => {
    if (typeof disk !== 'string') store = new LocalDirectoryStore(join(disk.path, 'artifacts'));
  });
  after(() => (disk as Tmpfs).unmount?.());

  it('refuses an object that does not fit with RDLAB_DISK_FULL, leaving nothing behind', {
    skip,
  }, async () => {
    const root = (disk as Tmpfs).path;
    await store.put('shards/small.arrow', new Uint8Array(1000).fill(1));
    const free = await freeBytes(root);
    assert.ok(free !== null && free < 300 * 1024);
    const error = await store.put('shards/big.arrow', new Uint8Array(400 * 1024).fill(2)).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof DiskFullError, String(error));
    assert.equal(error.code, 'RDLAB_DISK_FULL');
    assert.equal(error.path, store.root);
    assert.match(
      error.message,
      /^RDLAB_DISK_FULL: no space left on .*artifacts .*writing artifact shards\/big\.arrow/,
    );
    await assert.rejects(store.get('shards/big.arrow'), ArtifactNotFoundError);
    assert.deepEqual(
      await filesUnder(root),
      ['small.arrow'],
      'no partial object, no temporary file',
    );
    assert.equal(await freeBytes(root), free, 'the partial temporary file was removed');
  });

  it('keeps the object a failed put would have replaced whole', { skip }, async () => {
    const before = new Uint8Array(2000).fill(7);
    await store.put('cells/c1/latest.json', before);
    await assert.rejects(
      store.put('cells/c1/latest.json', new Uint8Array(400 * 1024)),
      DiskFullError,
    );
    assert.deepEqual(await store.get('cells/c1/latest.json'), before);
    // Room again: the next put goes through.
    await store.delete('shards/small.arrow');
    await store.put('shards/next.arrow', new Uint8Array(100_000).fill(3));
    assert.equal((await store.get('shards/next.arrow')).byteLength, 100_000);
  });
});
