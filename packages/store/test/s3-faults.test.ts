/**
 * The S3 store against s3rver behind a fault-injecting proxy (both on loopback): 5xx answers and
 * hung requests are retried with backoff, a bounded number of times; a GET body cut off or served
 * short is detected and read again, never returned; an object damaged in the store is an
 * RDLAB_STORE_CORRUPT error naming its key, never garbage.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  ArtifactCorruptError,
  createS3Client,
  PART_BYTES,
  S3ArtifactStore,
  type S3StoreOptions,
  type StoreRetryStrategy,
  s3StoreOptions,
} from '../src/index.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { S3RVER_CREDENTIALS, type S3Server, startS3Server } from './s3-server.js';

/** Bytes from a fixed multiplicative hash: the same in every run. */
function bytesOf(length: number, salt: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (Math.imul(i + salt, 2654435761) >>> 24) & 0xff;
  return out;
}

describe('S3ArtifactStore under store faults', { timeout: 60_000 }, () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let client: S3Client;
  let retry: StoreRetryStrategy;
  let store: S3ArtifactStore;
  const options: S3StoreOptions = s3StoreOptions({
    maxAttempts: 4,
    baseDelayMs: 20,
    maxDelayMs: 200,
    connectTimeoutMs: 1000,
    requestTimeoutMs: 2000,
    socketTimeoutMs: 500,
    readAttempts: 3,
  });

  before(async () => {
    s3 = await startS3Server(await mkdtemp(join(tmpdir(), 'rdlab-s3-faults-')), ['artifacts']);
    proxy = await startFaultProxy(s3.url);
    ({ client, retry } = createS3Client(
      { ...options, endpoint: proxy.url },
      { credentials: S3RVER_CREDENTIALS },
    ));
    store = new S3ArtifactStore(client, 'artifacts', 'lab', { readAttempts: 3, readDelayMs: 20 });
  });
  after(async () => {
    client?.destroy();
    await proxy?.close();
    await s3?.close();
  });
  beforeEach(() => proxy.clear());

  /** Counters before `fn`, to report what it alone caused. */
  async function delta<T>(fn: () => Promise<T>) {
    const p0 = { ...proxy.counts };
    const r0 = { ...retry.counts };
    const s0 = { ...store.counts };
    const value = await fn();
    const diff = <C extends Record<string, number>>(now: C, then: C) =>
      Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - (then[k] ?? 0)])) as C;
    return {
      value,
      proxy: diff(proxy.counts, p0),
      retry: diff(retry.counts, r0),
      store: diff(store.counts, s0),
    };
  }

  it('retries 5xx answers with backoff: N failures, then the put and the get succeed', async () => {
    const bytes = bytesOf(5000, 1);
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { times: 2, method: 'PUT' });
    const put = await delta(() => store.put('shards/a.arrow', bytes));
    assert.equal(put.proxy.serverErrors, 2);
    assert.equal(put.proxy.sdkRetries, 2, 'the SDK sent the PUT twice more');
    assert.deepEqual([put.retry.retries, put.retry.throttled], [2, 2]);

    proxy.inject({ kind: 'status', status: 500 }, { times: 3, method: 'GET' });
    const got = await delta(() => store.get('shards/a.arrow'));
    assert.deepEqual(got.value, bytes);
    assert.deepEqual(
      [got.proxy.serverErrors, got.retry.retries, got.retry.serverErrors],
      [3, 3, 3],
    );
  });

  it('gives up after maxAttempts tries of a lasting 5xx, and leaves no object behind', async () => {
    proxy.inject({ kind: 'status', status: 503 }, { times: 100, method: 'PUT' });
    const failed = await delta(() =>
      store.put('shards/b.arrow', bytesOf(100, 2)).then(
        () => null,
        (error: unknown) => error as { $metadata?: { httpStatusCode?: number; attempts?: number } },
      ),
    );
    assert.ok(failed.value, 'the put failed');
    assert.equal(failed.value.$metadata?.httpStatusCode, 503);
    assert.equal(failed.value.$metadata?.attempts, options.maxAttempts);
    assert.equal(failed.proxy.requests, options.maxAttempts, 'exactly maxAttempts requests');
    assert.equal(failed.retry.exhausted, 1);
    proxy.clear();
    assert.equal(await store.exists('shards/b.arrow'), false);
  });

  it('times out a request that hangs, and retries it', async () => {
    const bytes = bytesOf(3000, 3);
    proxy.inject({ kind: 'hang' }, { times: 1, method: 'PUT' });
    const put = await delta(() => store.put('cells/c1/epoch-1/model.safetensors', bytes));
    assert.deepEqual([put.proxy.hangs, put.retry.transient, put.proxy.sdkRetries], [1, 1, 1]);
    proxy.inject({ kind: 'hang' }, { times: 1, method: 'GET' });
    const got = await delta(() => store.get('cells/c1/epoch-1/model.safetensors'));
    assert.deepEqual(got.value, bytes);
    assert.deepEqual([got.proxy.hangs, got.retry.transient], [1, 1]);
  });

  it('detects a GET body broken off mid-transfer, reads again, and never returns the part', async () => {
    const bytes = bytesOf(256 * 1024, 4);
    await store.put('shards/c.arrow', bytes);
    proxy.inject({ kind: 'cut' }, { times: 1 });
    const got = await delta(() => store.get('shards/c.arrow'));
    assert.equal(got.value.byteLength, bytes.byteLength);
    assert.deepEqual(got.value, bytes);
    assert.deepEqual([got.proxy.cuts, got.store.cutBodies, got.store.rereads], [1, 1, 1]);
    assert.equal(got.proxy.rereadsAfterTruncation, 1);
  });

  it('detects a body served short as if whole, by its recorded length and SHA-256', async () => {
    const bytes = bytesOf(40_000, 5);
    await store.put('cells/c1/latest.json', bytes);
    proxy.inject({ kind: 'short' }, { times: 2 });
    const got = await delta(() => store.get('cells/c1/latest.json'));
    assert.deepEqual(got.value, bytes);
    assert.deepEqual([got.proxy.shorts, got.store.mismatches, got.store.rereads], [2, 2, 2]);
  });

  it('reports an object truncated in the store as RDLAB_STORE_CORRUPT, naming the key', async () => {
    await store.put('shards/d.arrow', bytesOf(10_000, 6));
    // Behind the store's back: s3rver keeps each object in a file of its own.
    const file = join(s3.directory, 'artifacts', 'lab', 'shards', 'd.arrow._S3rver_object');
    await truncate(file, 4000);
    const failed = await delta(() =>
      store.get('shards/d.arrow').then(
        () => null,
        (error: unknown) => error,
      ),
    );
    assert.ok(failed.value instanceof ArtifactCorruptError, String(failed.value));
    assert.equal(failed.value.code, 'RDLAB_STORE_CORRUPT');
    assert.equal(failed.value.key, 'shards/d.arrow');
    assert.match(failed.value.message, /shards\/d\.arrow .*4000 bytes read, 10000 written/);
    assert.deepEqual([failed.store.mismatches, failed.store.corrupt], [options.readAttempts, 1]);

    // Same length, one byte changed: only the SHA-256 can tell.
    await store.put('shards/e.arrow', bytesOf(10_000, 7));
    const other = join(s3.directory, 'artifacts', 'lab', 'shards', 'e.arrow._S3rver_object');
    const stored = await readFile(other);
    stored[5000] = (stored[5000] ?? 0) ^ 0xff;
    await writeFile(other, stored);
    await assert.rejects(store.get('shards/e.arrow'), (error: Error) => {
      assert.ok(error instanceof ArtifactCorruptError);
      assert.match(error.message, /SHA-256/);
      return true;
    });
  });

  it('retries a failed part of a multipart upload and verifies the whole object', async () => {
    const bytes = bytesOf(PART_BYTES + 1024 * 1024 + 3, 8);
    proxy.inject(
      { kind: 'status', status: 503 },
      { times: 1, method: 'PUT', path: /partNumber=2/ },
    );
    const put = await delta(() => store.put('cells/c2/epoch-1/model.safetensors', bytes));
    assert.deepEqual([put.proxy.serverErrors, put.retry.retries], [1, 1]);
    proxy.inject({ kind: 'short' }, { times: 1 });
    const got = await delta(() => store.get('cells/c2/epoch-1/model.safetensors'));
    assert.equal(
      got.store.mismatches,
      1,
      'the checksum recorded at the multipart upload is checked',
    );
    assert.deepEqual(got.value, bytes);
  });
});
