import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelFileError } from '../errors.js';
import { resolveCheckpoint } from './source.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A checkpoint folder over HTTP on 127.0.0.1, with faults to order. */
class FakeHub {
  readonly files = new Map<string, Buffer>();
  readonly requests = new Map<string, number>();
  /** Paths whose next response is cut off halfway (then served whole). */
  readonly cutOnce = new Set<string>();
  /** Paths served with one byte flipped (and the right X-Checksum-Sha256), every time. */
  readonly corrupt = new Set<string>();
  /** Whether a file's SHA-256 goes in a header (else a `.sha256` sidecar is served). */
  header = true;
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(
        /^\/ckpt\//,
        '',
      );
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1);
      const sidecarOf = path.endsWith('.sha256') ? path.slice(0, -7) : null;
      const body = sidecarOf
        ? !this.header && this.files.has(sidecarOf)
          ? Buffer.from(`${sha(this.files.get(sidecarOf) as Buffer)}  ${sidecarOf}\n`)
          : undefined
        : this.files.get(path);
      if (!body) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = { 'content-length': String(body.byteLength) };
      if (this.header && !sidecarOf) headers['x-checksum-sha256'] = sha(body);
      res.writeHead(200, headers);
      if (this.cutOnce.delete(path)) {
        res.write(body.subarray(0, body.byteLength >> 1), () => res.destroy());
        return;
      }
      if (this.corrupt.has(path)) {
        const bad = Buffer.from(body);
        const i = bad.byteLength >> 1;
        bad[i] = (bad[i] as number) ^ 0xff;
        res.end(bad);
        return;
      }
      res.end(body);
    });
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ckpt/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

let hub: FakeHub;
let cacheRoot: string;
before(async () => {
  hub = new FakeHub();
  hub.files.set('config.json', Buffer.from('{"model_type":"gpt2"}'));
  hub.files.set('tokenizer.json', Buffer.from('{"model":{"type":"BPE","vocab":{},"merges":[]}}'));
  hub.files.set('model-00001-of-00002.safetensors', randomBytes(3 * 1024 * 1024 + 17));
  hub.files.set('model-00002-of-00002.safetensors', randomBytes(1024 * 1024));
  hub.files.set(
    'model.safetensors.index.json',
    Buffer.from(
      JSON.stringify({
        weight_map: {
          a: 'model-00001-of-00002.safetensors',
          b: 'model-00002-of-00002.safetensors',
        },
      }),
    ),
  );
  await hub.start();
  cacheRoot = await mkdtemp(join(tmpdir(), 'rdlab-ckpt-cache-'));
});
after(async () => {
  await hub.stop();
  await rm(cacheRoot, { recursive: true, force: true });
});

const options = (name: string) => ({ cacheDir: join(cacheRoot, name), retryDelayMs: 5 });

async function assertSameFiles(dir: string): Promise<void> {
  for (const [name, bytes] of hub.files)
    assert.ok(bytes.equals(await readFile(join(dir, name))), `${name} differs`);
  const names = (await readdir(dir)).filter((n) => n !== '.complete').sort();
  assert.deepEqual(names, [...hub.files.keys()].sort()); // no .partial left behind
}

describe('resolveCheckpoint', () => {
  it('retries a download cut off halfway; the cached files are whole', async () => {
    hub.requests.clear();
    hub.cutOnce.add('model-00001-of-00002.safetensors');
    hub.cutOnce.add('config.json');
    const dir = await resolveCheckpoint(hub.url, options('cut'));
    await assertSameFiles(dir);
    assert.equal(hub.requests.get('model-00001-of-00002.safetensors'), 2);
    assert.equal(hub.requests.get('config.json'), 2);
    assert.equal(hub.requests.get('model-00002-of-00002.safetensors'), 1);
  });

  it('checks a .sha256 sidecar when there is no checksum header', async () => {
    hub.header = false;
    try {
      hub.requests.clear();
      const dir = await resolveCheckpoint(hub.url, options('sidecar'));
      await assertSameFiles(dir);
      assert.equal(hub.requests.get('model-00001-of-00002.safetensors.sha256'), 1);
    } finally {
      hub.header = true;
    }
  });

  it('gives up on bytes that never match their checksum, leaving nothing in the cache', async () => {
    hub.requests.clear();
    hub.corrupt.add('model-00002-of-00002.safetensors');
    try {
      await assert.rejects(resolveCheckpoint(hub.url, options('corrupt')), (e: ModelFileError) => {
        assert.equal(e.code, 'RDLAB_CHECKPOINT_CHECKSUM');
        assert.match(
          e.message,
          /model-00002-of-00002\.safetensors: SHA-256 .*after 3 of 3 downloads/,
        );
        return true;
      });
    } finally {
      hub.corrupt.clear();
    }
    assert.equal(hub.requests.get('model-00002-of-00002.safetensors'), 3);
    assert.deepEqual(await readdir(join(cacheRoot, 'corrupt')), []);
  });

  it('two concurrent resolves share one download of each file; a later one downloads nothing', async () => {
    hub.requests.clear();
    const [a, b] = await Promise.all([
      resolveCheckpoint(hub.url, options('shared')),
      resolveCheckpoint(hub.url.slice(0, -1), options('shared')), // the same folder without the slash
    ]);
    assert.equal(a, b);
    await assertSameFiles(a);
    for (const name of hub.files.keys()) assert.equal(hub.requests.get(name), 1, name);
    hub.requests.clear();
    assert.equal(await resolveCheckpoint(hub.url, options('shared')), a);
    assert.equal(hub.requests.size, 0);
  });

  it('a folder without weights, and a local path that is not there, are errors', async () => {
    await assert.rejects(
      resolveCheckpoint(`${hub.url}nothing/`, options('empty')),
      /RDLAB_CHECKPOINT_DOWNLOAD: .*nothing\/config\.json: not found/,
    );
    assert.equal(await resolveCheckpoint(cacheRoot), cacheRoot);
    await assert.rejects(resolveCheckpoint(join(cacheRoot, 'nope')), /RDLAB_CHECKPOINT_MISSING/);
  });
});
