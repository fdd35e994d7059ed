/**
 * An experiment after submission: cancelling it (its queued jobs removed, a job shared with a
 * live experiment kept), results before and after the report, cells with their evaluations,
 * metric series, and the progress stream ending with `event: done`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CANCEL_CHANNEL, redisConnection } from '@rdlab/jobs';
import { putJson } from '@rdlab/store';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { DEMO_YAML, errorOf, type Harness, json, startHarness } from './harness.js';

interface Submitted {
  id: string;
  cells: { id: string }[];
}

describe('cancel, results, cells, metrics and events', { timeout: 60_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ sseIntervalMs: 25 });
  });
  after(async () => {
    await h?.close();
  });

  const submit = async (name: string) => {
    const response = await h.request({
      method: 'POST',
      url: '/v1/experiments',
      headers: { 'content-type': 'application/yaml' },
      payload: DEMO_YAML.replace('name: demo', `name: ${name}`),
    });
    assert.equal(response.statusCode, 201, response.body);
    return json<Submitted>(response);
  };

  it('cancels: status, cells and open stage jobs cancelled; unshared queued jobs removed; workers told', async () => {
    const a = await submit('to-cancel');
    const b = await submit('still-live');
    const cell = a.cells[0]?.id ?? '';
    // a: its own train job waiting, its own evaluate job delayed (a retry's backoff), a shard
    // shared with b, a prepare that completed. b lists the same shard.
    const jobs = [
      { key: `train~${cell}`, kind: 'train', state: 'waiting', opts: {} },
      { key: `evaluate~${cell}`, kind: 'evaluate', state: 'waiting', opts: { delay: 60_000 } },
      { key: 'shard~shards/abc.arrow', kind: 'bootstrap', state: 'waiting', opts: {} },
      { key: 'prepare~demo', kind: 'prepare', state: 'completed', opts: null },
    ] as const;
    for (const job of jobs) {
      await h.repos.stageJobs.upsertStageJob({
        experimentId: a.id,
        key: job.key,
        kind: job.kind,
        state: job.state,
      });
      if (job.opts)
        await h.queue.add(job.kind, { experimentId: a.id }, { jobId: job.key, ...job.opts });
    }
    await h.repos.stageJobs.upsertStageJob({
      experimentId: b.id,
      key: 'shard~shards/abc.arrow',
      kind: 'bootstrap',
    });
    await h.repos.cells.updateCell(a.id, cell, { status: 'succeeded' });

    const subscriber = new Redis(redisConnection(h.redisServer.url, { role: 'worker' }));
    const published = new Promise<string>((resolve) =>
      subscriber.on('message', (_channel, message: string) => resolve(message)),
    );
    await subscriber.subscribe(CANCEL_CHANNEL);
    try {
      const response = await h.request({ method: 'POST', url: `/v1/experiments/${a.id}/cancel` });
      assert.equal(response.statusCode, 200, response.body);
      const body = json<{ id: string; status: string; finishedAt: string | null }>(response);
      assert.equal(body.id, a.id);
      assert.equal(body.status, 'cancelled');
      assert.ok(body.finishedAt);
      assert.equal(await published, a.id);
    } finally {
      subscriber.disconnect();
    }

    assert.equal(await h.queue.getJob(`train~${cell}`), undefined);
    assert.equal(await h.queue.getJob(`evaluate~${cell}`), undefined);
    assert.equal(await h.queue.getJobState('shard~shards/abc.arrow'), 'waiting');

    const cells = await h.repos.cells.listCells(a.id);
    assert.deepEqual(
      cells.map((c) => c.status),
      ['succeeded', 'cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled'],
    );
    const states = Object.fromEntries(
      (await h.repos.stageJobs.listStageJobs(a.id)).map((j) => [j.key, j.state]),
    );
    assert.deepEqual(states, {
      [`train~${cell}`]: 'cancelled',
      [`evaluate~${cell}`]: 'cancelled',
      'shard~shards/abc.arrow': 'cancelled',
      'prepare~demo': 'completed',
    });
    const [shared] = await h.repos.stageJobs.listStageJobs(b.id);
    assert.equal(shared?.state, 'waiting');
    assert.equal((await h.repos.experiments.getExperiment(h.team.id, b.id))?.status, 'queued');

    const again = await h.request({ method: 'POST', url: `/v1/experiments/${a.id}/cancel` });
    assert.equal(again.statusCode, 409);
    assert.equal(errorOf(again).code, 'RDLAB_EXPERIMENT_FINISHED');
    await h.queue.obliterate({ force: true });
  });

  it('serves results only once the experiment finished: 409, then JSON, CSV and HTML from the store', async () => {
    const { id } = await submit('results');
    for (const url of [
      `/v1/experiments/${id}/results`,
      `/v1/experiments/${id}/results?format=csv`,
      `/v1/experiments/${id}/report`,
    ]) {
      const response = await h.request({ method: 'GET', url });
      assert.equal(response.statusCode, 409, url);
      assert.equal(errorOf(response).code, 'RDLAB_RESULTS_NOT_READY');
      assert.equal(errorOf(response).details.status, 'queued');
    }

    const variant = {
      dataset: 'demo',
      attribute: 'positive',
      target: 'tiny',
      dropout: { kind: 'quantile', gamma: 0.8 },
      dropoutLabel: 'quantile-0.8',
      acc: { mean: 0.41, sd: 0.01 },
      reward: { mean: 0.83, sd: 0.02 },
      accPlusReward: { mean: 1.24, sd: 0.02 },
      start: { acc: 0.4, reward: 0.5, accPlusReward: 0.9 },
      versusStart: 'pareto-improvement',
      versusNone: 'pareto-improvement',
      degenerated: false,
      paretoOptimal: true,
    };
    const stored = { report: { variants: [variant], columns: ['acc', 'reward'] }, results: [] };
    await putJson(h.store, `experiments/${id}/results.json`, stored);
    const csv = 'dataset,attribute,dropout,acc,reward\ndemo,positive,quantile-0.8,0.41,0.83\n';
    await h.store.put(`experiments/${id}/results.csv`, new TextEncoder().encode(csv));
    const html = '<!doctype html><h2>Acc + Reward</h2>';
    await h.store.put(`experiments/${id}/report.html`, new TextEncoder().encode(html));
    await h.repos.experiments.updateExperimentStatus(id, 'running');
    await h.repos.experiments.updateExperimentStatus(id, 'succeeded');

    const results = await h.request({ method: 'GET', url: `/v1/experiments/${id}/results` });
    assert.equal(results.statusCode, 200, results.body);
    assert.match(String(results.headers['content-type']), /^application\/json/);
    const body = json<typeof stored>(results);
    assert.deepEqual(body, stored);
    assert.deepEqual(body.report.variants[0]?.start, variant.start);
    assert.equal(body.report.variants[0]?.versusNone, 'pareto-improvement');

    // results.json written before dropouts were structured reads as if written now.
    const { dropout: _config, dropoutLabel: label, ...legacyVariant } = variant;
    const cell = { id: 'c1', dropout: { kind: 'quantile', gamma: 0.8 } };
    await putJson(h.store, `experiments/${id}/results.json`, {
      ...stored,
      report: {
        ...stored.report,
        variants: [{ ...legacyVariant, dropout: label, kind: 'quantile', gamma: 0.8 }],
      },
      results: [{ cell, dropout: label }],
    });
    const legacy = json<typeof stored & { results: unknown[] }>(
      await h.request({ method: 'GET', url: `/v1/experiments/${id}/results` }),
    );
    assert.deepEqual(legacy.report.variants, [variant]);
    assert.deepEqual(legacy.results, [{ cell, dropoutLabel: 'quantile-0.8' }]);

    for (const request of [
      { url: `/v1/experiments/${id}/results`, headers: { accept: 'text/csv' } },
      { url: `/v1/experiments/${id}/results?format=csv`, headers: {} },
    ]) {
      const response = await h.request({ method: 'GET', ...request });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^text\/csv/);
      assert.equal(response.body, csv);
    }
    const report = await h.request({ method: 'GET', url: `/v1/experiments/${id}/report` });
    assert.equal(report.statusCode, 200);
    assert.match(String(report.headers['content-type']), /^text\/html/);
    assert.equal(report.body, html);
  });

  it('lists cells with status, epochs done, and start and latest Acc and Reward', async () => {
    const { id, cells } = await submit('cells');
    const cellId = cells[1]?.id ?? '';
    await h.repos.cells.updateCell(id, cellId, { status: 'running', epochsDone: 2 });
    for (const [epoch, acc, reward] of [
      [0, 0.3, 0.5],
      [1, 0.32, 0.6],
      [2, 0.35, 0.7],
    ] as const) {
      await h.repos.results.upsertEvalResult({
        experimentId: id,
        cellId,
        epoch,
        metrics: {},
        acc,
        reward,
      });
    }
    const response = await h.request({ method: 'GET', url: `/v1/experiments/${id}/cells` });
    assert.equal(response.statusCode, 200, response.body);
    const items = json<{
      items: {
        id: string;
        status: string;
        epochsDone: number;
        dropout: Record<string, unknown>;
        dropoutLabel: string;
        start: { acc: number; reward: number } | null;
        latest: { epoch: number; acc: number; reward: number } | null;
      }[];
    }>(response).items;
    assert.equal(items.length, 6);
    assert.deepEqual(items[0]?.start, null);
    assert.deepEqual(items[0]?.latest, null);
    assert.equal(items[0]?.status, 'pending');
    const cell = items[1];
    assert.equal(cell?.id, cellId);
    assert.deepEqual(cell?.dropout, { kind: 'random', gamma: 0.8, replacement: true });
    assert.equal(cell?.dropoutLabel, 'random-0.8');
    assert.equal(cell?.status, 'running');
    assert.equal(cell?.epochsDone, 2);
    assert.deepEqual(cell?.start, { acc: 0.3, reward: 0.5 });
    assert.deepEqual(cell?.latest, { epoch: 2, acc: 0.35, reward: 0.7 });
  });

  it("returns a cell's metric series grouped by name", async () => {
    const { id, cells } = await submit('metrics');
    const cellId = cells[0]?.id ?? '';
    await h.db.metricPoint.createMany({
      data: [
        { name: 'train/loss', step: 2, epoch: 0, value: 2.1 },
        { name: 'train/loss', step: 1, epoch: 0, value: 2.3 },
        { name: 'train/reward', step: 1, epoch: 0, value: 0.4 },
      ].map((p) => ({ ...p, experimentId: id, cellId, stage: 'train' })),
    });
    const series = async (query: string) => {
      const response = await h.request({
        method: 'GET',
        url: `/v1/cells/${cellId}/metrics${query}`,
      });
      assert.equal(response.statusCode, 200, response.body);
      return json<{ experimentId: string; series: Record<string, unknown[]> }>(response);
    };
    const all = await series(`?experiment=${id}`);
    assert.equal(all.experimentId, id);
    assert.deepEqual(all.series, {
      'train/loss': [
        { step: 1, epoch: 0, value: 2.3 },
        { step: 2, epoch: 0, value: 2.1 },
      ],
      'train/reward': [{ step: 1, epoch: 0, value: 0.4 }],
    });
    const one = await series(`?experiment=${id}&name=train/reward`);
    assert.deepEqual(Object.keys(one.series), ['train/reward']);
    // Without ?experiment: the newest of the team's experiments with this cell (this one).
    assert.equal((await series('')).experimentId, id);

    const unknown = await h.request({ method: 'GET', url: '/v1/cells/c0000000000000000/metrics' });
    assert.equal(unknown.statusCode, 404);
  });

  it('streams progress as Server-Sent Events and ends with event: done', async () => {
    const { id, cells } = await submit('events');
    const app = h.buildApp({ sseIntervalMs: 25 });
    try {
      const stream = await openEvents(app, `/v1/experiments/${id}/events`, h.team.token);
      assert.equal(stream.response.status, 200);
      assert.match(String(stream.response.headers.get('content-type')), /^text\/event-stream/);
      const events: SseEvent[] = [];
      const first = await stream.next();
      assert.equal(first?.event, 'progress');
      assert.equal(first?.data.status, 'queued');
      assert.equal(first?.data.cells.pending, 6);
      events.push(first as SseEvent);

      await h.repos.experiments.updateExperimentStatus(id, 'running');
      await h.repos.cells.updateCell(id, cells[0]?.id ?? '', { status: 'running' });
      for (;;) {
        const event = await stream.next();
        assert.ok(event, 'the stream ended early');
        events.push(event);
        if (event.data.cells?.running === 1) break;
      }
      assert.equal(events.at(-1)?.data.status, 'running');

      await h.repos.experiments.updateExperimentStatus(id, 'succeeded');
      for (let event = await stream.next(); event; event = await stream.next()) events.push(event);
      assert.deepEqual(events.at(-1), { event: 'done', data: { status: 'succeeded' } });
      // Unchanged progress is not repeated.
      const texts = events.filter((e) => e.event === 'progress').map((e) => JSON.stringify(e.data));
      assert.ok(
        texts.every((t, i) => i === 0 || t !== texts[i - 1]),
        texts.join('\n'),
      );
    } finally {
      await app.close();
    }
  });

  it('ends open event streams when the app closes', async () => {
    const { id } = await submit('closing');
    const app = h.buildApp({ sseIntervalMs: 25 });
    const stream = await openEvents(app, `/v1/experiments/${id}/events`, h.team.token);
    assert.equal((await stream.next())?.event, 'progress');
    const started = Date.now();
    await app.close();
    for (let event = await stream.next(); event; event = await stream.next()) {}
    assert.ok(Date.now() - started < 2000);
  });
});

interface SseEvent {
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: event payloads are read field by field
  data: any;
}

/** Listens on a free port and reads `url`'s event stream one event at a time. */
async function openEvents(app: FastifyInstance, url: string, token: string) {
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const response = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } });
  const body = response.body;
  assert.ok(body);
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    response,
    /** The next `event:` block, or null once the stream ended. */
    async next(): Promise<SseEvent | null> {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!block.startsWith('event: ')) continue; // retry: and keep-alive comments
          const [event, data] = block.split('\n');
          return {
            event: event?.slice('event: '.length) ?? '',
            data: JSON.parse(data?.slice(6) ?? ''),
          };
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffer += value;
      }
    },
  };
}
