/**
 * Who may call what, and what every refusal looks like: bearer tokens, tenancy (another team's
 * experiment is a 404 like an unknown one, on every route), the rate limit per token, shedding
 * load, and the error shape for failures of our own or of Postgres.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Repositories } from '@rdlab/db';
import { buildApi } from '../src/app.js';
import { API_CONFIG_ERROR_CODE, API_ERROR_CODES, statusOf } from '../src/errors.js';
import { DEMO_YAML, errorOf, type Harness, json, startHarness } from './harness.js';

describe('auth, tenancy and error replies', { timeout: 60_000 }, () => {
  let h: Harness;
  let theirs: { id: string; cells: { id: string }[] };
  let stranger: { token: string };
  before(async () => {
    h = await startHarness();
    const response = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'content-type': 'application/yaml' },
      payload: DEMO_YAML,
    });
    theirs = json(response);
    stranger = await h.newTeam('strangers');
  });
  after(async () => {
    await h?.close();
  });

  it('refuses a missing, malformed, unknown or revoked token with 401 and WWW-Authenticate', async () => {
    const revoked = await h.newTeam('revoked');
    assert.equal(await h.repos.tokens.revokeToken(revoked.tokenId), true);
    const cases: [string, Record<string, string>][] = [
      ['missing', {}],
      ['not bearer', { authorization: `Basic ${h.team.token}` }],
      ['unknown', { authorization: `Bearer rdl_${'A'.repeat(43)}` }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['revoked', { authorization: `Bearer ${revoked.token}` }],
    ];
    for (const [what, headers] of cases) {
      for (const url of ['/v1/experiments', '/v1/queue', `/v1/experiments/${theirs.id}`]) {
        const response = await h.app.inject({ method: 'GET', url, headers });
        assert.equal(response.statusCode, 401, `${what} ${url}`);
        assert.match(String(response.headers['www-authenticate']), /^Bearer/);
        assert.equal(errorOf(response).code, 'RDLAB_UNAUTHORIZED');
      }
    }
    const post = await h.app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'content-type': 'application/yaml' },
      payload: DEMO_YAML,
    });
    assert.equal(post.statusCode, 401);
  });

  it("answers another team's experiment exactly like an unknown one (404) on every route", async () => {
    const unknown = 'e0123456789abcdef';
    const routes = (id: string, cell: string) =>
      [
        { method: 'GET', url: `/v1/experiments/${id}` },
        { method: 'GET', url: `/v1/experiments/${id}/cells` },
        { method: 'GET', url: `/v1/experiments/${id}/results` },
        { method: 'GET', url: `/v1/experiments/${id}/results?format=csv` },
        { method: 'GET', url: `/v1/experiments/${id}/report` },
        { method: 'GET', url: `/v1/experiments/${id}/events` },
        { method: 'POST', url: `/v1/experiments/${id}/cancel` },
        { method: 'GET', url: `/v1/cells/${cell}/metrics?experiment=${id}` },
        { method: 'GET', url: `/v1/cells/${cell}/metrics` },
      ] as const;
    const cell = theirs.cells[0]?.id ?? '';
    const mine = routes(theirs.id, cell);
    const none = routes(unknown, 'c0000000000000000');
    for (const [i, route] of mine.entries()) {
      const response = await h.request(route, stranger.token);
      assert.equal(response.statusCode, 404, `${route.method} ${route.url}: ${response.body}`);
      const error = errorOf(response);
      assert.equal(error.code, 'RDLAB_NOT_FOUND');
      const other = errorOf(await h.request(none[i] ?? route, stranger.token));
      assert.equal(
        error.message.replaceAll(theirs.id, unknown).replaceAll(cell, 'c0000000000000000'),
        other.message,
      );
    }
    assert.deepEqual(
      json<{ items: unknown[] }>(
        await h.request({ method: 'GET', url: '/v1/experiments' }, stranger.token),
      ).items,
      [],
    );
    // Nothing changed for the owner.
    const owner = await h.request({ method: 'GET', url: `/v1/experiments/${theirs.id}` });
    assert.equal(json<{ status: string }>(owner).status, 'queued');
  });

  it('answers unknown routes 404 in the error shape', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/v2/nothing' });
    assert.equal(response.statusCode, 404);
    assert.equal(errorOf(response).code, 'RDLAB_NOT_FOUND');
  });

  it('limits requests per token: 429 RDLAB_RATE_LIMITED with Retry-After, other tokens unaffected', async () => {
    const app = h.buildApp({ rateLimit: { max: 2, timeWindowMs: 60_000 } });
    const get = (token: string) =>
      app.inject({
        method: 'GET',
        url: '/v1/experiments',
        headers: { authorization: `Bearer ${token}` },
      });
    assert.equal((await get(h.team.token)).statusCode, 200);
    assert.equal((await get(h.team.token)).statusCode, 200);
    const limited = await get(h.team.token);
    assert.equal(limited.statusCode, 429);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const error = errorOf(limited);
    assert.equal(error.code, 'RDLAB_RATE_LIMITED');
    assert.equal(error.details.limit, 2);
    assert.equal((await get(stranger.token)).statusCode, 200);
    // Probes are not limited.
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  it('answers 500 RDLAB_INTERNAL without stack or secrets, and 503 RDLAB_UNAVAILABLE when Postgres is unreachable', async () => {
    const failing = (error: Error) =>
      buildApi({
        db: h.db,
        repos: {
          ...h.repos,
          tokens: {
            authenticate: async () => {
              throw error;
            },
          },
        } as unknown as Repositories,
        queue: h.queue,
        redis: h.redis,
        store: h.store,
      });
    const internal = failing(new Error('boom at postgresql://rdlab:hunter2@db:5432/rdlab'));
    const response = await internal.inject({
      method: 'GET',
      url: '/v1/experiments',
      headers: { authorization: `Bearer ${h.team.token}` },
    });
    assert.equal(response.statusCode, 500);
    assert.equal(errorOf(response).code, 'RDLAB_INTERNAL');
    assert.doesNotMatch(response.body, /hunter2|boom|\bat \w+ \(/);
    await internal.close();

    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
    });
    const down = failing(new Error('query failed', { cause: refused }));
    const unavailable = await down.inject({
      method: 'GET',
      url: '/v1/experiments',
      headers: { authorization: `Bearer ${h.team.token}` },
    });
    assert.equal(unavailable.statusCode, 503);
    assert.equal(unavailable.headers['retry-after'], '5');
    assert.equal(errorOf(unavailable).code, 'RDLAB_UNAVAILABLE');
    await down.close();
  });

  it('rejects unknown options at construction', () => {
    assert.throws(
      () =>
        buildApi({
          db: h.db,
          repos: h.repos,
          queue: h.queue,
          redis: h.redis,
          store: h.store,
          options: { rateLimit: { max: 0 }, sseIntervallMs: 5 } as never,
        }),
      (error: Error & { code?: string }) =>
        error.code === API_CONFIG_ERROR_CODE &&
        /rateLimit\.max/.test(error.message) &&
        /sseIntervallMs/.test(error.message),
    );
  });

  it('documents every error code, with its status, in README.md', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const code of [...API_ERROR_CODES, API_CONFIG_ERROR_CODE]) {
      assert.ok(readme.includes(`\`${code}\``), `${code} is not in apps/api/README.md`);
    }
    for (const code of API_ERROR_CODES) {
      const row = readme.split('\n').find((line) => line.includes(`| \`${code}\``));
      assert.ok(row?.includes(`| ${statusOf(code)} |`), `README row of ${code} lacks its status`);
    }
  });

  // Last: the lag it makes would shed the other apps' load for a second too.
  it('sheds load while the event loop lags: 503 RDLAB_OVERLOADED with Retry-After', async () => {
    const app = h.buildApp({ maxEventLoopDelayMs: 20 });
    await app.ready();
    // Block the loop well past one sampling interval (1 s) of under-pressure, then ask until
    // its next sample has seen the lag.
    const until = Date.now() + 1300;
    while (Date.now() < until) {}
    const get = () =>
      app.inject({
        method: 'GET',
        url: '/v1/queue',
        headers: { authorization: `Bearer ${h.team.token}` },
      });
    let response = await get();
    for (let i = 0; i < 60 && response.statusCode !== 503; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      response = await get();
    }
    assert.equal(response.statusCode, 503, response.body);
    assert.equal(errorOf(response).code, 'RDLAB_OVERLOADED');
    assert.ok(Number(response.headers['retry-after']) > 0);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
    await app.close();
  });
});
