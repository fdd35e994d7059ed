/**
 * Jobs added before each job was named after its stage (`shard`, `evaluate`) may still be in
 * Redis: the scheduler sees them under their old ids instead of adding the job a second time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSweepSpec } from '@rdlab/core';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { cellResultKey, manifestKey, type PreparedManifest } from '@rdlab/plan';
import { LocalDirectoryStore, putJson } from '@rdlab/store';
import { Queue } from 'bullmq';
import { Scheduler } from '../src/reconciler.js';
import { type Services, startServices, submit } from './harness.js';

const SPEC = `
name: legacy
datasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]
dropout: [{ kind: quantile, gamma: 0.5 }]
seeds: [1]
`;

describe('jobs under their legacy names', { timeout: 60_000 }, () => {
  let services: Services;
  before(async () => {
    services = await startServices('legacy');
  });
  after(async () => {
    await services?.stop();
  });

  it('counts an evaluate job still waiting as the cell’s publish job', async () => {
    const { db, repos, redis, root } = services;
    const store = new LocalDirectoryStore(join(root, 'artifacts'));
    const { spec, cells } = parseSweepSpec(SPEC);
    const cell = cells[0]!;
    const shard = 'shards/legacy.arrow';
    const manifest: PreparedManifest = {
      dataset: 'demo',
      keys: { tokenizer: 't', behavior: 'b', reward: 'r' },
      classes: ['negative', 'positive'],
      rewardAccuracy: null,
      attributes: {
        positive: {
          prefixCount: 1,
          prefixesKey: 'prefixes/x.json',
          shards: [{ key: shard, dataset: 'demo', attribute: 'positive', start: 0, end: 1 }],
          evalSetKey: 'eval-sets/x.json',
        },
      },
    };
    await putJson(store, manifestKey(spec, 'demo'), manifest);
    await store.put(shard, new Uint8Array([1]));
    await putJson(store, cellResultKey(cell.id), {});
    const { id } = await submit(repos, SPEC);

    const queue = new Queue(QUEUES.stages, { connection: redisConnection(redis.url) });
    try {
      const legacyId = `evaluate~${id}~${cell.id}`;
      await queue.add('evaluate', { version: 1 }, { jobId: legacyId, delay: 60_000 });
      await new Scheduler(db, repos, store, queue).tick();
      assert.equal(await queue.getJobState(`publish~${id}~${cell.id}`), 'unknown');
      const rows = await db.stageJob.findMany({ where: { experimentId: id } });
      assert.deepEqual(
        rows.map((r) => [r.key, r.kind]),
        [[legacyId, 'publish']],
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
