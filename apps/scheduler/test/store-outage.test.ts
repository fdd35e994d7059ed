/**
 * The reconciler and a store that is away for a while: the tick fails (and is retried by the
 * scheduler's loop), the experiment stays live, and the next tick after the store is back
 * schedules it. Only a spec the workers cannot read fails an experiment.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QUEUES, redisConnection } from '@rdlab/jobs';
import { type ArtifactStore, LocalDirectoryStore } from '@rdlab/store';
import { Queue } from 'bullmq';
import { Scheduler } from '../src/reconciler.js';
import { type Services, startServices, submit } from './harness.js';

/** A store whose every call fails with a 503-like error while `down` is set. */
function flakyStore(inner: ArtifactStore) {
  const state = { down: true, failures: 0 };
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (!state.down) return call();
    state.failures += 1;
    return Promise.reject(
      Object.assign(new Error('ServiceUnavailable'), { $metadata: { httpStatusCode: 503 } }),
    );
  };
  const store: ArtifactStore = {
    location: inner.location,
    exists: (k) => guard(() => inner.exists(k)),
    get: (k) => guard(() => inner.get(k)),
    put: (k, b) => guard(() => inner.put(k, b)),
    list: (p) => guard(() => inner.list(p)),
    delete: (k) => guard(() => inner.delete(k)),
  };
  return { store, state };
}

describe('store outage at the scheduler', { timeout: 60_000 }, () => {
  let services: Services;

  before(async () => {
    services = await startServices('store-outage');
  });

  after(async () => {
    await services?.stop();
  });

  it('keeps the experiment live while the store is away and schedules it once back', async () => {
    const { db, repos, redis, root } = services;
    const { store, state } = flakyStore(new LocalDirectoryStore(join(root, 'artifacts')));
    const queue = new Queue(QUEUES.stages, { connection: redisConnection(redis.url) });
    try {
      const scheduler = new Scheduler(db, repos, store, queue, {});
      const experiment = await submit(
        repos,
        'name: outage\ndatasets: [{ name: demo, source: builtin:demo, attributes: [positive] }]\ndropout: [{ kind: none }]\nseeds: [1]\n',
      );
      for (let i = 0; i < 3; i++) await assert.rejects(scheduler.tick(), /ServiceUnavailable/);
      assert.ok(state.failures >= 3);
      const during = await db.experiment.findUnique({ where: { id: experiment.id } });
      assert.equal(during?.status, 'queued', 'a store outage failed the experiment');
      state.down = false;
      assert.ok((await scheduler.tick()) > 0, 'nothing was scheduled once the store was back');
      assert.deepEqual(
        (await queue.getJobs(['waiting', 'prioritized'])).map((j) => j.name),
        ['prepare'],
      );
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
