/**
 * The API serving the dashboard (apps/api src/web.ts) on buildApi with stand-in backends: no
 * request here reaches Postgres or Redis.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApi } from '@rdlab/api';
import type { FastifyInstance } from 'fastify';
import { resolveOptions } from '../../api/src/options.js';
import { DIST } from '../build.mjs';

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const idle = { on() {}, off() {} };

function api(webRoot: string): FastifyInstance {
  return buildApi({
    db: {} as never,
    repos: {} as never,
    queue: idle as never,
    redis: idle as never,
    store: {} as never,
    options: { webRoot, maxEventLoopDelayMs: 0 },
  });
}

describe('the API serves the built dashboard', () => {
  let root: string;
  let app: FastifyInstance;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rdlab-web-'));
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, 'dist/index.html'), '<!doctype html><title>rdlab</title>');
    await writeFile(join(root, 'dist/app.js'), 'console.log(1)');
    await writeFile(join(root, 'dist/app.css'), 'body{}');
    app = api(join(root, 'dist'));
    await app.ready();
  });

  after(async () => {
    await app?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('defaults webRoot to apps/web/dist', () => {
    assert.equal(resolveOptions({}).webRoot, DIST);
  });

  it('answers / and the files with the dashboard', async () => {
    const index = await app.inject({ url: '/', headers: HTML });
    assert.equal(index.statusCode, 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.match(index.body, /<title>rdlab/);
    const js = await app.inject({ url: '/app.js' });
    assert.equal(js.statusCode, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.equal((await app.inject({ url: '/app.css' })).statusCode, 200);
  });

  it('answers client-side routes that ask for HTML with index.html', async () => {
    for (const url of ['/experiments/e0123456789abcdef', '/cells/c1?experiment=e1', '/submit']) {
      const response = await app.inject({ url, headers: HTML });
      assert.equal(response.statusCode, 200, url);
      assert.match(response.body, /<title>rdlab/, url);
    }
  });

  it('keeps the JSON 404 for API paths and for requests that do not ask for HTML', async () => {
    for (const [url, headers] of [
      ['/v1/nothing', HTML],
      ['/v2/nothing', {}],
      ['/experiments/e1', { accept: 'application/json' }],
      ['/metrics/x', HTML],
    ] as const) {
      const response = await app.inject({ url, headers });
      assert.equal(response.statusCode, 404, url);
      assert.equal(JSON.parse(response.body).error.code, 'RDLAB_NOT_FOUND', url);
    }
  });

  it('leaves /v1 (401 without a token), /healthz and /docs as they were', async () => {
    const v1 = await app.inject({ url: '/v1/experiments', headers: HTML });
    assert.equal(v1.statusCode, 401);
    assert.equal(JSON.parse(v1.body).error.code, 'RDLAB_UNAUTHORIZED');
    assert.deepEqual(JSON.parse((await app.inject({ url: '/healthz' })).body), { status: 'ok' });
    const docs = await app.inject({ url: '/docs/json' });
    assert.equal(docs.statusCode, 200);
    const paths = Object.keys(JSON.parse(docs.body).paths);
    assert.ok(paths.includes('/v1/experiments'));
    assert.ok(
      !paths.some((p) => p === '/' || p.startsWith('/*') || p.startsWith('/app')),
      paths.join(),
    );
  });
});

describe('the API without a built dashboard', () => {
  it('says at / how to build it, and serves nothing else', async () => {
    const app = api(join(tmpdir(), 'rdlab-web-absent', 'dist'));
    try {
      const response = await app.inject({ url: '/', headers: HTML });
      assert.equal(response.statusCode, 200);
      assert.match(JSON.parse(response.body).message, /npm run build:web/);
      assert.equal((await app.inject({ url: '/experiments/e1', headers: HTML })).statusCode, 404);
    } finally {
      await app.close();
    }
  });
});
