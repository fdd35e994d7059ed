import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { directoryComplete, getDirectory, putDirectory } from './directories.js';
import { LocalDirectoryStore } from './local-store.js';
import { ArtifactNotFoundError, InvalidKeyError, maybeJson, putJson } from './store.js';

describe('LocalDirectoryStore', () => {
  it('puts, gets, lists and deletes objects by key', async () => {
    const store = new LocalDirectoryStore(await mkdtemp(join(tmpdir(), 'rdlab-store-')));
    await store.put('shards/a.arrow', new Uint8Array([1, 2, 3]));
    await putJson(store, 'cells/c1/latest.json', { epoch: 2 });
    assert.deepEqual(await store.get('shards/a.arrow'), new Uint8Array([1, 2, 3]));
    assert.deepEqual(await maybeJson(store, 'cells/c1/latest.json'), { epoch: 2 });
    assert.equal(await maybeJson(store, 'cells/c2/latest.json'), null);
    assert.deepEqual(await store.list('cells/'), ['cells/c1/latest.json']);
    await store.delete('shards/a.arrow');
    assert.equal(await store.exists('shards/a.arrow'), false);
    await assert.rejects(store.get('shards/a.arrow'), ArtifactNotFoundError);
  });

  it('refuses keys that could escape the store', async () => {
    const store = new LocalDirectoryStore(await mkdtemp(join(tmpdir(), 'rdlab-store-')));
    for (const key of ['../x', '/etc/passwd', 'a//b', 'a/./b', ''])
      await assert.rejects(store.put(key, new Uint8Array()), InvalidKeyError);
  });

  it('copies whole directories both ways and leaves no temporary files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rdlab-store-'));
    const store = new LocalDirectoryStore(join(root, 'store'));
    const src = join(root, 'src');
    const dst = join(root, 'dst');
    await putJson(store, 'x/placeholder.json', {});
    await import('node:fs/promises').then((fs) => fs.mkdir(src));
    await writeFile(join(src, 'config.json'), '{}');
    await writeFile(join(src, 'model.safetensors'), 'weights');
    assert.deepEqual(await putDirectory(store, 'behavior/abc', src), [
      'config.json',
      'model.safetensors',
    ]);
    assert.deepEqual(await getDirectory(store, 'behavior/abc', dst), [
      'config.json',
      'model.safetensors',
    ]);
    assert.deepEqual((await readdir(dst)).sort(), ['config.json', 'model.safetensors']);
    assert.ok((await store.list('')).every((k) => !k.endsWith('.tmp')));
  });

  it('marks a directory complete only after its last file, and refuses one with a file missing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'rdlab-store-'));
    const store = new LocalDirectoryStore(join(root, 'store'));
    const src = join(root, 'src');
    await import('node:fs/promises').then((fs) => fs.mkdir(src));
    await writeFile(join(src, 'config.json'), '{}');
    await writeFile(join(src, 'model.safetensors'), 'weights');
    await writeFile(join(src, 'tokenizer.json'), '{}');
    // An upload that died after its first files: no marker, so not complete.
    await store.put('behavior/half/config.json', new Uint8Array(2));
    await store.put('behavior/half/model.safetensors', new Uint8Array(7));
    assert.equal(await directoryComplete(store, 'behavior/half'), false);
    await putDirectory(store, 'behavior/whole', src);
    assert.equal(await directoryComplete(store, 'behavior/whole'), true);
    // A file the marker lists gone behind the store's back: a clear error, not a partial model.
    await store.delete('behavior/whole/tokenizer.json');
    await assert.rejects(
      getDirectory(store, 'behavior/whole', join(root, 'dst')),
      /behavior\/whole\/tokenizer\.json \(listed in behavior\/whole\/_complete\.json\)/,
    );
  });
});
