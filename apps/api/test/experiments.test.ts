/**
 * Submitting sweeps: JSON and YAML bodies, dry runs, idempotent retries, every spec problem
 * with its path, malformed bodies, the body limit, listing and one experiment's progress.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type CellSettings,
  cellId,
  cellSettings,
  parseSpecText,
  parseSweepSpec,
} from '@rdlab/core';
import { DEMO_YAML, errorOf, type Harness, json, startHarness } from './harness.js';

const demo = parseSweepSpec(DEMO_YAML);
const demoDocument = (() => {
  const parsed = parseSpecText(DEMO_YAML);
  if (!parsed.ok) throw new Error('examples/demo.yaml does not parse');
  return parsed.value as Record<string, unknown>;
})();

interface Submitted {
  id: string;
  status: string;
  dryRun?: boolean;
  cells: {
    id: string;
    dataset: string;
    attribute: string;
    target: string;
    dropout: Record<string, unknown>;
    dropoutLabel: string;
  }[];
  plan: { cells: number; shards: number; estimates: { totalSeconds: number | null }[] };
}

describe('POST /v1/experiments and reading experiments', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  const rows = async () => ({
    experiments: await h.db.experiment.count(),
    cells: await h.db.cell.count(),
  });
  const postYaml = (body: string, headers: Record<string, string> = {}, url = '/v1/experiments') =>
    h.request({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/yaml', ...headers },
      payload: body,
    });

  it('creates an experiment and its cells from a YAML spec: 201 with the cells of expandSweep', async () => {
    const response = await postYaml(DEMO_YAML);
    assert.equal(response.statusCode, 201, response.body);
    const body = json<Submitted>(response);
    assert.match(body.id, /^e[0-9a-f]{16}$/);
    assert.equal(body.status, 'queued');
    assert.equal(response.headers.location, `/v1/experiments/${body.id}`);
    assert.deepEqual(
      body.cells.map((c) => c.id),
      demo.cells.map((c) => c.id),
    );
    assert.deepEqual(
      body.cells.map((c) => `${c.attribute}/${c.dropoutLabel}`),
      ['negative', 'positive'].flatMap((a) =>
        ['none', 'random-0.8', 'quantile-0.8'].map((d) => `${a}/${d}`),
      ),
    );
    assert.deepEqual(
      body.cells.slice(0, 3).map((c) => c.dropout),
      [
        { kind: 'none' },
        { kind: 'random', gamma: 0.8, replacement: true },
        { kind: 'quantile', gamma: 0.8 },
      ],
    );
    assert.equal(body.plan.cells, 6);
    assert.ok(body.plan.shards > 0 && body.plan.estimates.length > 0);

    const stored = await h.repos.experiments.getExperimentWithCells(body.id);
    assert.equal(stored?.name, 'demo');
    assert.equal(stored?.teamId, h.team.id);
    assert.equal(stored?.cellCount, 6);
    assert.deepEqual(
      stored?.cells.map((c) => c.id),
      demo.cells.map((c) => c.id),
    );
    assert.deepEqual(stored?.specSubmitted, demoDocument);
    assert.deepEqual(stored?.specResolved, JSON.parse(JSON.stringify(demo.spec)));
    // Each cell resolved once, here: its settings, which hash to its id, for the scheduler and
    // workers to read instead of expanding the spec again.
    for (const [i, cell] of (stored?.cells ?? []).entries()) {
      const expected = cellSettings(demo.spec, demo.cells[i] as (typeof demo.cells)[number]);
      assert.deepEqual(cell.settings, JSON.parse(JSON.stringify(expected)));
      assert.equal(cellId(cell.settings as CellSettings), cell.id);
    }
  });

  it('accepts the same spec as JSON and as text/yaml or application/x-yaml', async () => {
    const asJson = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      payload: { ...demoDocument, name: 'demo-json' },
    });
    assert.equal(asJson.statusCode, 201, asJson.body);
    assert.deepEqual(
      json<Submitted>(asJson).cells.map((c) => c.id),
      demo.cells.map((c) => c.id),
    );
    for (const type of ['text/yaml', 'application/x-yaml; charset=utf-8']) {
      const response = await postYaml(DEMO_YAML, { 'content-type': type });
      assert.equal(response.statusCode, 201, `${type}: ${response.body}`);
    }
  });

  it('plans without creating anything on ?dryRun=true', async () => {
    const before = await rows();
    const response = await postYaml(
      DEMO_YAML,
      { 'idempotency-key': 'dry' },
      '/v1/experiments?dryRun=true',
    );
    assert.equal(response.statusCode, 200, response.body);
    const body = json<Submitted>(response);
    assert.equal(body.dryRun, true);
    assert.equal(body.id, undefined);
    assert.deepEqual(
      body.cells.map((c) => c.id),
      demo.cells.map((c) => c.id),
    );
    assert.equal(body.plan.cells, 6);
    assert.deepEqual(await rows(), before);
    assert.equal(await h.repos.experiments.findByIdempotencyKey(h.team.id, 'dry'), null);
  });

  it('answers a retry with the same Idempotency-Key with the first experiment (200, Idempotent-Replayed)', async () => {
    const first = await postYaml(DEMO_YAML, { 'idempotency-key': 'submit-1' });
    assert.equal(first.statusCode, 201);
    const before = await rows();
    const again = await postYaml(DEMO_YAML, { 'idempotency-key': 'submit-1' });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(json<Submitted>(again).id, json<Submitted>(first).id);
    // The same spec as JSON is the same spec.
    const asJson = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'idempotency-key': 'submit-1' },
      payload: demoDocument,
    });
    assert.equal(asJson.statusCode, 200);
    assert.equal(json<Submitted>(asJson).id, json<Submitted>(first).id);
    assert.deepEqual(await rows(), before);

    // Another team's key space is its own.
    const other = await h.newTeam('other-idem');
    const theirs = await h.request(
      {
        method: 'POST',
        url: '/v1/experiments',
        headers: { 'content-type': 'application/yaml', 'idempotency-key': 'submit-1' },
        payload: DEMO_YAML,
      },
      other.token,
    );
    assert.equal(theirs.statusCode, 201);
    assert.notEqual(json<Submitted>(theirs).id, json<Submitted>(first).id);
  });

  it('refuses the same Idempotency-Key with a different spec: 422, nothing written', async () => {
    await postYaml(DEMO_YAML, { 'idempotency-key': 'submit-2' });
    const before = await rows();
    const response = await postYaml(DEMO_YAML.replace('seeds: [1]', 'seeds: [1, 2]'), {
      'idempotency-key': 'submit-2',
    });
    assert.equal(response.statusCode, 422, response.body);
    assert.equal(errorOf(response).code, 'RDLAB_IDEMPOTENCY_CONFLICT');
    assert.deepEqual(await rows(), before);
  });

  it('rejects an Idempotency-Key over 200 characters naming the header', async () => {
    const response = await postYaml(DEMO_YAML, { 'idempotency-key': 'k'.repeat(201) });
    assert.equal(response.statusCode, 400);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_BAD_REQUEST');
    assert.match(error.message, /idempotency-key/);
  });

  it('lists every problem of an invalid spec with its JSON-pointer path, and creates nothing', async () => {
    const before = await rows();
    const bad = DEMO_YAML.replace(
      '  batchSize: 64\n  epochs: 1',
      '  batchSize: 0\n  epochs: 1',
    ).replace('  - kind: quantile\n    gamma: 0.8', '  - kind: quantile\n    gamma: 1.5');
    const response = await postYaml(bad);
    assert.equal(response.statusCode, 400, response.body);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_SPEC_INVALID');
    const problems = error.details.problems as { path: string; message: string; value: unknown }[];
    assert.deepEqual(problems.map((p) => p.path).sort(), [
      '/dropout/2/gamma',
      '/training/batchSize',
    ]);
    const gamma = problems.find((p) => p.path === '/dropout/2/gamma');
    assert.equal(gamma?.value, 1.5);
    assert.match(gamma?.message ?? '', /≤ 1/);
    assert.deepEqual(await rows(), before);

    const unknownKey = await postYaml(`${DEMO_YAML}\nseed: 3\n`);
    assert.equal(unknownKey.statusCode, 400);
    const [problem] = errorOf(unknownKey).details.problems as { path: string; message: string }[];
    assert.equal(problem?.path, '/seed');
    assert.match(problem?.message ?? '', /did you mean 'seeds'/);
  });

  it('answers malformed YAML with one 400 naming the line', async () => {
    const response = await postYaml('name: demo\ndatasets:\n  - name: demo\n   source: x\n');
    assert.equal(response.statusCode, 400, response.body);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_BAD_REQUEST');
    assert.match(error.message, /malformed YAML body: .*line 4/);
  });

  it('answers malformed JSON with a 400 naming line and column', async () => {
    const response = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'content-type': 'application/json' },
      payload: '{\n  "name": "demo",\n  "datasets": [,]\n}',
    });
    assert.equal(response.statusCode, 400, response.body);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_BAD_REQUEST');
    assert.match(error.message, /malformed JSON body at line 3, column/);
  });

  it('answers a missing body 400 and an unsupported content type 415', async () => {
    const empty = await h.request({ method: 'POST', url: '/v1/experiments' });
    assert.equal(empty.statusCode, 400, empty.body);
    assert.equal(errorOf(empty).code, 'RDLAB_BAD_REQUEST');
    const text = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'content-type': 'text/plain' },
      payload: DEMO_YAML,
    });
    assert.equal(text.statusCode, 415, text.body);
    assert.equal(errorOf(text).code, 'RDLAB_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a body over the limit 413 in the error shape', async () => {
    const before = await rows();
    const big = `${DEMO_YAML}\n# ${'x'.repeat(1024 * 1024)}\n`;
    const response = await postYaml(big);
    assert.equal(response.statusCode, 413, response.body);
    const error = errorOf(response);
    assert.equal(error.code, 'RDLAB_BODY_TOO_LARGE');
    assert.deepEqual(error.details, {});
    assert.deepEqual(await rows(), before);
  });

  it('pages through the team’s experiments, newest first', async () => {
    const team = await h.newTeam('pager');
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      const response = await h.request(
        {
          method: 'POST',
          url: '/v1/experiments',
          headers: { 'content-type': 'application/yaml' },
          payload: DEMO_YAML.replace('name: demo', `name: ${name}`),
        },
        team.token,
      );
      ids.push(json<Submitted>(response).id);
    }
    const list = (query: string) =>
      h.request({ method: 'GET', url: `/v1/experiments${query}` }, team.token);
    const first = json<{ items: { id: string; name: string }[]; nextCursor: string | null }>(
      await list('?limit=2'),
    );
    assert.deepEqual(
      first.items.map((e) => e.name),
      ['c', 'b'],
    );
    assert.equal(first.nextCursor, ids[1]);
    const second = json<{ items: { id: string; name: string }[]; nextCursor: string | null }>(
      await list(`?limit=2&cursor=${first.nextCursor}`),
    );
    assert.deepEqual(
      second.items.map((e) => e.name),
      ['a'],
    );
    assert.equal(second.nextCursor, null);

    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=abc', 'limit'],
      ['?limt=2', 'limt'],
      ['?cursor=e0000000000000000', 'cursor'],
    ] as const) {
      const response = await list(query);
      assert.equal(response.statusCode, 400, `${query}: ${response.body}`);
      const error = errorOf(response);
      assert.equal(error.code, 'RDLAB_BAD_REQUEST');
      assert.ok(error.message.includes(field), `${query}: ${error.message}`);
    }
  });

  it('shows an experiment with progress per stage, cells by status and an ETA', async () => {
    const created = json<Submitted>(await postYaml(DEMO_YAML.replace('name: demo', 'name: eta')));
    const get = async () =>
      json<{
        id: string;
        name: string;
        status: string;
        cellCount: number;
        createdAt: string;
        progress: {
          stages: Record<string, Record<string, number>>;
          cells: Record<string, number>;
          etaSeconds: number | null;
        };
        spec: { name: string };
      }>(await h.request({ method: 'GET', url: `/v1/experiments/${created.id}` }));
    const fresh = await get();
    assert.equal(fresh.name, 'eta');
    assert.equal(fresh.cellCount, 6);
    assert.equal(fresh.spec.name, 'eta');
    assert.ok(!Number.isNaN(Date.parse(fresh.createdAt)));
    assert.deepEqual(fresh.progress.stages.prepare, {
      waiting: 0,
      active: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    assert.equal(fresh.progress.cells.pending, 6);
    assert.equal(fresh.progress.etaSeconds, null);

    // Two train jobs done in 60 s and 120 s, two workers alive: 4 cells left → 90 s × 4 / 2.
    const now = Date.now();
    for (const [i, seconds] of [60, 120].entries()) {
      await h.db.stageJob.create({
        data: {
          experimentId: created.id,
          key: `train~${created.cells[i]?.id}`,
          kind: 'train',
          cellId: created.cells[i]?.id ?? null,
          state: 'completed',
          startedAt: new Date(now - seconds * 1000),
          finishedAt: new Date(now),
        },
      });
    }
    await h.db.stageJob.create({
      data: { experimentId: created.id, key: 'shard~x', kind: 'bootstrap', state: 'active' },
    });
    await h.repos.workers.heartbeat({ id: 'w1', backend: 'native', hostname: 'h1' });
    await h.repos.workers.heartbeat({ id: 'w2', backend: 'native', hostname: 'h2' });
    const progressing = await get();
    assert.equal(progressing.progress.stages.train?.completed, 2);
    assert.equal(progressing.progress.stages.bootstrap?.active, 1);
    assert.equal(progressing.progress.etaSeconds, 180);
    await h.db.worker.deleteMany({});
  });

  it('answers 404 RDLAB_NOT_FOUND for an unknown experiment', async () => {
    const response = await h.request({ method: 'GET', url: '/v1/experiments/e0123456789abcdef' });
    assert.equal(response.statusCode, 404);
    assert.equal(errorOf(response).code, 'RDLAB_NOT_FOUND');
  });
});
