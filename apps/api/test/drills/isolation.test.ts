/**
 * Drill "isolation" (reliability and security drills, part 4): team B never sees, learns of or
 * changes team A's experiment, on every /v1 route that takes an experiment or cell id (listed
 * from the OpenAPI document, so a new route is covered); a revoked token gets 401 everywhere;
 * no token ever appears in a reply, in the logs or in /metrics.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@rdlab/telemetry';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApi } from '../../src/app.js';
import { DEMO_YAML, errorOf, type Harness, json, startHarness } from '../harness.js';

type Team = { id: string; token: string; tokenId: string };

describe('drill: isolation', { timeout: 60_000 }, () => {
  let h: Harness;
  let app: FastifyInstance;
  let a: Team;
  let b: Team;
  let revoked: Team;
  let experimentId: string;
  let cellId: string;
  const logs: string[] = [];
  const bodies: string[] = [];

  const send = async (
    token: string,
    method: 'GET' | 'POST',
    url: string,
  ): Promise<LightMyRequestResponse> => {
    const response = await app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
    });
    bodies.push(response.body);
    return response;
  };

  /** Every /v1 route with an experiment or cell id, from the OpenAPI document. */
  let idRoutes: { method: 'GET' | 'POST'; path: string }[] = [];
  let allRoutes: { method: 'GET' | 'POST'; path: string }[] = [];
  const fill = (path: string, id: string, cell: string) =>
    path.replace('{id}', id).replace('{cellId}', cell);

  before(async () => {
    h = await startHarness();
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: 'rdlab-api-drill', level: 'trace', destination });
    app = buildApi({
      db: h.db,
      repos: h.repos,
      queue: h.queue,
      redis: h.redis,
      store: h.store,
      logger,
      options: { rateLimit: { max: 100_000, timeWindowMs: 60_000 }, maxEventLoopDelayMs: 0 },
    });
    await app.ready();
    [a, b, revoked] = await Promise.all([h.newTeam('alpha'), h.newTeam('beta'), h.newTeam('gone')]);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/experiments',
      headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/yaml' },
      payload: DEMO_YAML,
    });
    assert.equal(created.statusCode, 201, created.body);
    const body = json<{ id: string; cells: { id: string }[] }>(created);
    experimentId = body.id;
    cellId = body.cells[0]?.id ?? '';
    assert.equal(await h.repos.tokens.revokeToken(revoked.tokenId), true);

    const docs = json<{ paths: Record<string, Record<string, unknown>> }>(
      await app.inject({ method: 'GET', url: '/docs/json' }),
    );
    allRoutes = Object.entries(docs.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((m) => m === 'get' || m === 'post')
          .map((m) => ({ method: m.toUpperCase() as 'GET' | 'POST', path })),
      );
    idRoutes = allRoutes.filter((r) => /\{(id|cellId)\}/.test(r.path));
  });
  after(async () => {
    await app?.close();
    await h?.close();
  });

  it("answers 404 to team B on every route with team A's experiment or cell id", async () => {
    assert.ok(idRoutes.length >= 6, `only ${idRoutes.length} id routes in /docs/json`);
    const ghost = 'e0000000000000000';
    for (const route of idRoutes) {
      const url = fill(route.path, experimentId, cellId);
      const theirs = await send(b.token, route.method, url);
      assert.equal(theirs.statusCode, 404, `${route.method} ${url}: ${theirs.body}`);
      assert.equal(errorOf(theirs).code, 'RDLAB_NOT_FOUND');
      assert.equal(Object.keys(json(theirs)).join(), 'error', 'nothing but the error');
      assert.doesNotMatch(theirs.body, /demo|negative|positive|queued/, 'no data of theirs');
      // Exactly like an id that does not exist.
      const unknown = await send(b.token, route.method, fill(route.path, ghost, ghost));
      assert.equal(unknown.statusCode, 404);
      assert.equal(
        errorOf(theirs).message.replaceAll(experimentId, ghost).replaceAll(cellId, ghost),
        errorOf(unknown).message,
        `${route.method} ${route.path}: a foreign id reads differently from an unknown one`,
      );
      // A sees it (the ids are right); its event stream never ends, so it is left out here.
      if (!route.path.endsWith('/events') && !route.path.endsWith('/cancel')) {
        const own = await send(a.token, route.method, url);
        assert.notEqual(own.statusCode, 404, `${route.method} ${url} as A: ${own.body}`);
      }
    }
    console.log(
      `drill: isolation by id | ${idRoutes.length} id routes from /docs/json, B → 404 like an unknown id | pass`,
    );
  });

  it("keeps A's experiment out of B's list and unchanged by B's cancel", async () => {
    const list = json<{ items: { id: string }[] }>(
      await send(b.token, 'GET', '/v1/experiments?limit=100'),
    );
    assert.ok(!list.items.some((e) => e.id === experimentId));
    const ownList = json<{ items: { id: string }[] }>(
      await send(a.token, 'GET', '/v1/experiments'),
    );
    assert.ok(ownList.items.some((e) => e.id === experimentId));

    const beforeCancel = json<{ status: string }>(
      await send(a.token, 'GET', `/v1/experiments/${experimentId}`),
    );
    const cancel = await send(b.token, 'POST', `/v1/experiments/${experimentId}/cancel`);
    assert.equal(cancel.statusCode, 404);
    const stored = await h.repos.experiments.getExperiment(a.id, experimentId);
    assert.equal(stored?.status, beforeCancel.status);
    assert.equal(stored?.status, 'queued');
    const cells = json<{ items?: { status: string }[] }>(
      await send(a.token, 'GET', `/v1/experiments/${experimentId}/cells`),
    );
    for (const cell of cells.items ?? []) assert.notEqual(cell.status, 'cancelled');
    console.log(
      `drill: isolation of list and cancel | B's list of ${list.items.length} omits A's, B's cancel → 404, status stays ${stored?.status} | pass`,
    );
  });

  it('answers 401 to a revoked token on every /v1 route', async () => {
    for (const route of allRoutes) {
      const url = fill(route.path, experimentId, cellId);
      const response = await send(revoked.token, route.method, url);
      assert.equal(response.statusCode, 401, `${route.method} ${url}`);
      assert.equal(errorOf(response).code, 'RDLAB_UNAUTHORIZED');
    }
    console.log(`drill: revoked token | ${allRoutes.length} /v1 routes → 401 | pass`);
  });

  it('never writes a token into a reply, the logs or /metrics', async () => {
    // Requests that fail in the ways a token could be echoed: unknown, mangled, not Bearer.
    const bogus = `rdl_${'Z'.repeat(43)}`;
    await send(bogus, 'GET', '/v1/experiments');
    await send(`${a.token}x`, 'GET', '/v1/experiments');
    await app.inject({
      method: 'GET',
      url: '/v1/experiments',
      headers: { authorization: `Basic ${b.token}` },
    });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(metrics.statusCode, 200);
    bodies.push(metrics.body);
    const secrets = [a.token, b.token, revoked.token, bogus];
    const leaks = (text: string) => secrets.filter((s) => text.includes(s));
    const inBodies = bodies.flatMap(leaks);
    const inLogs = logs.flatMap(leaks);
    assert.ok(logs.length > 0, 'the logger captured nothing');
    assert.deepEqual(inBodies, [], 'a token in a reply body');
    assert.deepEqual(inLogs, [], `a token in the logs: ${logs.find((l) => leaks(l).length)}`);
    assert.doesNotMatch(metrics.body, /rdl_/);
    console.log(
      `drill: token secrecy | ${bodies.length} replies, ${logs.length} log lines, /metrics: 0 tokens | pass`,
    );
  });
});
