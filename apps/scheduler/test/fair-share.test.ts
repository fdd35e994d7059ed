/**
 * Fair share on real Postgres and Redis: a 40-cell sweep submitted first does not starve a
 * 2-cell sweep submitted after it. The stage work is faked (a worker that writes each job's
 * artifact at once) so the test is about the scheduling, not the training.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { cellResultKey, manifestKey, type PreparedManifest } from '@rdlab/plan';
import { LocalDirectoryStore, putJson } from '@rdlab/store';
import { Queue, Worker } from 'bullmq';
import { Scheduler } from '../src/reconciler.js';
import { type Services, startServices, submit as submitTo } from './harness.js';

const spec = (name: string, attribute: string, gammas: number[], seeds: number[]) => `
name: ${name}
datasets: [{ name: demo, source: builtin:demo, attributes: [${attribute}] }]
dropout: [{ kind: quantile, gamma: [${gammas.join(', ')}] }]
seeds: [${seeds.join(', ')}]
`;

describe('fair share', { timeout: 120_000 }, () => {
  let services: Services;

  before(async () => {
    services = await startServices('fair');
  });

  after(async () => {
    await services?.stop();
  });

  it('starts a small sweep submitted after a big one within the in-flight cap of jobs', async () => {
    const { db, repos, redis, root } = services;
    const store = new LocalDirectoryStore(join(root, 'artifacts'));
    // Prepared and sampled already: the next stage of every cell is training.
    const submit = async (teamName: string, text: string) => {
      const { spec: resolved, cells } = parseSweepSpec(text);
      const attribute = cells[0]!.attribute;
      const shard = `shards/${resolved.name}.arrow`;
      const manifest: PreparedManifest = {
        dataset: 'demo',
        keys: { tokenizer: 't', behavior: 'b', reward: 'r' },
        classes: ['negative', 'positive'],
        rewardAccuracy: null,
        attributes: {
          [attribute]: {
            prefixCount: 1,
            prefixesKey: 'prefixes/x.json',
            shards: [{ key: shard, dataset: 'demo', attribute, start: 0, end: 1 }],
            evalSetKey: 'eval-sets/x.json',
          },
        },
      };
      await putJson(store, manifestKey(resolved, 'demo'), manifest);
      await store.put(shard, new Uint8Array([1]));
      return submitTo(repos, text, teamName);
    };
    const big = await submit(
      'big-lab',
      spec('big', 'negative', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [1, 2, 3, 4, 5]),
    );
    const small = await submit('small-lab', spec('small', 'positive', [0.5], [1, 2]));
    assert.equal(big.cells.length, 40);

    const queue = new Queue(QUEUES.stages, { connection: redisConnection(redis.url) });
    const cap = 3;
    const scheduler = new Scheduler(db, repos, store, queue, { maxInFlightPerExperiment: cap });
    // A stand-in worker: records the order of train jobs and writes their results at once.
    const started: string[] = [];
    const worker = new Worker(
      QUEUES.stages,
      async (job) => {
        const { experimentId, cellId } = job.data as { experimentId: string; cellId?: string };
        if (job.name === 'train') {
          started.push(experimentId);
          await putJson(store, cellResultKey(cellId as string), {});
        } else if (job.name === 'publish') {
          await repos.cells.updateCell(experimentId, cellId as string, { status: 'succeeded' });
        } else if (job.name === 'report') {
          await repos.experiments.updateExperimentStatus(experimentId, 'succeeded');
        }
      },
      { connection: redisConnection(redis.url, { role: 'worker' }), concurrency: 1 },
    );
    try {
      const deadline = Date.now() + 90_000;
      while (started.filter((e) => e === small.id).length < small.cells.length) {
        assert.ok(Date.now() < deadline, 'the small sweep never finished training');
        await scheduler.tick();
        await new Promise((r) => setTimeout(r, 50));
      }
      // Without the cap all 40 big-sweep jobs would be queued ahead of it; with it, at most
      // `cap` of them run before the small sweep's last job.
      const lastSmall = started.lastIndexOf(small.id);
      const bigBefore = started.slice(0, lastSmall).filter((e) => e === big.id).length;
      assert.ok(
        bigBefore <= cap,
        `${bigBefore} big-sweep jobs ran before the small sweep's last (order: ${started.map((e) => (e === big.id ? 'B' : 's')).join('')})`,
      );
      const waiting = await db.stageJob.count({ where: { experimentId: big.id } });
      assert.ok(
        waiting < big.cells.length * 2,
        'the big sweep never had all its jobs queued at once',
      );
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});
