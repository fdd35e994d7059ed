/** The S3 store against a real S3-compatible server (s3rver, in-process on loopback). */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import {
  ArtifactNotFoundError,
  getDirectory,
  maybeJson,
  PART_BYTES,
  putDirectory,
  putJson,
  S3ArtifactStore,
} from '../src/index.js';

describe('S3ArtifactStore', () => {
  let server: S3rver;
  let client: S3Client;
  before(async () => {
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: await mkdtemp(join(tmpdir(), 'rdlab-s3-')),
    });
    const { port } = (await server.run()) as AddressInfo;
    client = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await client.send(new CreateBucketCommand({ Bucket: 'artifacts' }));
  });
  after(async () => {
    client.destroy();
    await server.close();
  });

  it('puts, gets, lists and deletes under its prefix', async () => {
    const store = S3ArtifactStore.fromUrl(client, 's3://artifacts/runs/a');
    assert.equal(store.location, 's3://artifacts/runs/a');
    await store.put('shards/x.arrow', new Uint8Array([7, 8, 9]));
    await putJson(store, 'cells/c1/latest.json', { epoch: 1 });
    assert.deepEqual(await store.get('shards/x.arrow'), new Uint8Array([7, 8, 9]));
    assert.equal(await store.exists('shards/x.arrow'), true);
    assert.equal(await store.exists('shards/y.arrow'), false);
    assert.deepEqual(await store.list(''), ['cells/c1/latest.json', 'shards/x.arrow']);
    assert.deepEqual(await maybeJson(store, 'cells/c1/latest.json'), { epoch: 1 });
    await assert.rejects(store.get('missing.json'), ArtifactNotFoundError);
    await store.delete('shards/x.arrow');
    assert.equal(await store.exists('shards/x.arrow'), false);
    // Another prefix in the same bucket sees none of it.
    assert.deepEqual(await S3ArtifactStore.fromUrl(client, 's3://artifacts/runs/b').list(''), []);
  });

  it('uploads a large object in parts (multipart) and reads back every byte', async () => {
    const store = new S3ArtifactStore(client, 'artifacts', 'big');
    const bytes = new Uint8Array(PART_BYTES + 3 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    await store.put('cells/c1/epoch-1/model.safetensors', bytes);
    const back = await store.get('cells/c1/epoch-1/model.safetensors');
    assert.equal(back.byteLength, bytes.byteLength);
    assert.deepEqual(back, bytes);
  });

  it('carries checkpoint directories both ways', async () => {
    const store = new S3ArtifactStore(client, 'artifacts');
    const src = await mkdtemp(join(tmpdir(), 'rdlab-src-'));
    await writeFile(join(src, 'config.json'), '{"n_layer":2}');
    await writeFile(join(src, 'model.safetensors'), new Uint8Array(1024).fill(3));
    await putDirectory(store, 'cells/c2/epoch-1', src);
    const dst = await mkdtemp(join(tmpdir(), 'rdlab-dst-'));
    assert.deepEqual(await getDirectory(store, 'cells/c2/epoch-1', dst), [
      'config.json',
      'model.safetensors',
    ]);
  });
});
