/**
 * The embedded stack end to end, through HTTP: real Postgres, Redis, artifact directory, API,
 * scheduler and two worker processes. A small sweep completes and its results equal
 * `rdlab run --local`'s (runSweep) number for number; cancel stops work and keeps what was stored;
 * a second start on the same data dir finds the experiments and the token again.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { initBackend } from '@rdlab/ml';
import {
  type CellResult,
  MemoryMetrics,
  newCounters,
  runSweep,
  silentProgress,
} from '@rdlab/pipeline';
import { LocalDirectoryStore } from '@rdlab/store';
import { ApiClient } from '../src/stack/client.js';
import { type Stack, startStack } from '../src/stack/stack.js';

const SPEC = {
  name: 'stack',
  datasets: [{ name: 'demo', source: 'builtin:demo', attributes: ['negative', 'positive'] }],
  behavior: {
    model: { preset: 'tiny' },
    training: { epochs: 1, learningRate: 3e-3, batchSize: 32, sentencesPerAttribute: 200 },
  },
  rewardModel: {
    training: { epochs: 1, learningRate: 3e-3, batchSize: 32, sentencesPerAttribute: 200 },
  },
  dropout: [{ kind: 'none' }, { kind: 'quantile', gamma: 0.5 }],
  training: { batchSize: 8, epochs: 2, learningRate: 1e-3, maxLength: 20, temperature: 1 },
  bootstrap: { prefixesPerAttribute: 24, samplesPerPrefix: 2, shardSize: 10 },
  evaluation: { prefixes: 12, examples: 2 },
  seeds: [1],
};

describe('the embedded stack through HTTP', { timeout: 300_000 }, () => {
  let root: string;
  let stack: Stack;
  let client: ApiClient;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'rdlab-stack-'));
    await chmod(root, 0o755);
    stack = await startStack({ dataDir: join(root, 'stack'), port: 0, workers: 2, baseDir: root });
    client = new ApiClient(stack.apiUrl, stack.token);
  });

  after(async () => {
    await stack?.stop();
  });

  it('runs a sweep posted over HTTP on two workers to the numbers of one process', async () => {
    const { id, cells } = await client.submit(SPEC);
    assert.ok(id);
    assert.equal(cells.length, 4);
    const view = await client.wait(id as string, undefined, 250);
    assert.equal(view.status, 'succeeded', String(view.error));
    const { results } = (await client.results(id as string, 'json')) as { results: CellResult[] };
    const csv = (await client.results(id as string, 'csv')) as string;
    assert.equal(csv.trim().split('\n').length, 1 + 4);
    const workers = await client.json<{ items: Array<{ id: string }> }>('/v1/workers');
    assert.equal(workers.items.length, 2);

    await initBackend();
    const { spec, cells: expanded } = parseSweepSpec(JSON.stringify(SPEC));
    const local = await runSweep(
      {
        store: new LocalDirectoryStore(join(root, 'local')),
        metrics: new MemoryMetrics(),
        progress: silentProgress,
        baseDir: root,
        workDir: join(root, 'local-tmp'),
        counters: newCounters(),
      },
      spec,
      expanded,
    );
    const numbers = (rs: CellResult[]) =>
      rs
        .map((r) => [r.cell.id, r.start.acc, r.final.acc, r.final.reward, r.final.rougeL])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    assert.deepEqual(numbers(results), numbers(local.results));
  });

  it('cancel stops the work and keeps what was stored', async () => {
    const longer = {
      ...SPEC,
      name: 'to-cancel',
      training: { ...SPEC.training, epochs: 30 },
      seeds: [5, 6, 7],
    };
    const { id, cells } = await client.submit(longer);
    // Wait until one of its cells has a checkpoint, then cancel.
    const store = new LocalDirectoryStore(stack.store);
    const ids = (cells as Array<{ id: string }>).map((c) => c.id);
    const deadline = Date.now() + 120_000;
    let checkpoint: string | null = null;
    while (!checkpoint) {
      assert.ok(Date.now() < deadline, 'no checkpoint within 2 minutes');
      for (const cell of ids) {
        const keys = await store.list(`cells/${cell}/epoch-1/`);
        if (keys.length > 0) checkpoint = keys[0] as string;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const cancelled = await client.cancel(id as string);
    assert.equal(cancelled.status, 'cancelled');
    // Every job of the experiment stops within a few seconds.
    const stopBy = Date.now() + 30_000;
    for (;;) {
      const stages = (await client.experiment(id as string)).progress?.stages ?? {};
      const running = Object.values(stages).reduce(
        (n, s) => n + (s.active ?? 0) + (s.waiting ?? 0),
        0,
      );
      if (running === 0) break;
      assert.ok(Date.now() < stopBy, `jobs still running: ${JSON.stringify(stages)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(await store.exists(checkpoint), true, 'what was stored stays');
    for (const cell of ids)
      assert.equal(await store.exists(`cells/${cell}/result.json`), false, 'no cell trained on');
    const view = await client.experiment(id as string);
    assert.equal(view.progress?.cells?.succeeded ?? 0, 0);
    await assert.rejects(client.cancel(id as string), /RDLAB_EXPERIMENT_FINISHED/);
  });

  it('a second start on the same data dir finds its experiments and its token', async () => {
    const before = await client.json<{ items: Array<{ id: string }> }>('/v1/experiments?limit=10');
    await stack.stop();
    stack = await startStack({ dataDir: join(root, 'stack'), port: 0, workers: 1, baseDir: root });
    const again = new ApiClient(stack.apiUrl, stack.token);
    assert.equal(stack.token, (client as unknown as { token: string }).token);
    const after = await again.json<{ items: Array<{ id: string }> }>('/v1/experiments?limit=10');
    assert.deepEqual(
      after.items.map((e) => e.id),
      before.items.map((e) => e.id),
    );
    client = again;
  });
});
