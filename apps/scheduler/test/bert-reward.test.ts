/**
 * A BERT reward model over the embedded stack (Postgres, Redis, the scheduler and a worker): the
 * prepare job fine-tunes a tiny pretrained BERT once, recording its per-epoch loss and held-out
 * accuracy in Postgres; a second experiment (another γ, seed and bootstrap seed, so its prepare
 * job runs again) loads that R from the store without fine-tuning it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningWorker, startWorker } from '@rdlab/worker';
import { writeTinyBert } from '../../../packages/pipeline/test/tiny-bert.js';
import { type RunningScheduler, startScheduler } from '../src/main.js';
import { finished, type Services, startServices, submit, tinySpec } from './harness.js';

const REWARD = `  model: { checkpoint: ./tiny-bert }
  finetune: { epochs: 2, learningRate: 1.0e-3, batchSize: 32, patience: 1, maxLength: 32, sentencesPerAttribute: 100 }`;

const spec = (name: string, gamma: number, seed: number, bootstrapSeed: number) =>
  tinySpec(name, {
    rewardModel: REWARD,
    dropout: `[{ kind: quantile, gamma: ${gamma} }]`,
    bootstrap: `{ prefixesPerAttribute: 16, samplesPerPrefix: 2, shardSize: 16, seed: ${bootstrapSeed} }`,
    seeds: [seed],
  });

describe('a BERT reward model through the service', { timeout: 300_000 }, () => {
  let services: Services;
  let scheduler: RunningScheduler;
  let worker: RunningWorker;

  before(async () => {
    services = await startServices('bert-reward');
    const { root, pg, redis } = services;
    await writeTinyBert(join(root, 'tiny-bert'));
    const store = join(root, 'store');
    scheduler = await startScheduler({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      intervalMs: 200,
    });
    worker = await startWorker({
      redisUrl: redis.url,
      databaseUrl: pg.url,
      store,
      baseDir: root,
      workDir: join(root, 'work'),
      workerId: 'w1',
      metricsPort: 0,
    });
  });

  after(async () => {
    await worker?.close(1000);
    await scheduler?.close();
    await services?.stop();
  });

  const finetuneLosses = () =>
    services.db.metricPoint.count({ where: { name: 'reward_model/finetune_loss' } });

  it('fine-tunes R in the prepare job and records its loss and accuracy per epoch', async () => {
    const { db, repos } = services;
    const { id } = await submit(repos, spec('bert-first', 0.5, 1, 0));
    const experiment = await finished(db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const losses = await finetuneLosses();
    assert.ok(losses >= 1 && losses <= 2, `${losses} fine-tuning epochs recorded`);
    const accuracy = await db.metricPoint.count({
      where: { experimentId: id, stage: 'prepare', name: 'reward_model/eval_accuracy' },
    });
    assert.equal(accuracy, losses);
  });

  it('a second experiment that prepares again loads R without fine-tuning it', async () => {
    const { db, repos } = services;
    const before = await finetuneLosses();
    const { id } = await submit(repos, spec('bert-second', 0.8, 2, 5));
    const experiment = await finished(db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const kinds = (await db.stageJob.findMany({ where: { experimentId: id } })).map(
      (j: { kind: string }) => j.kind,
    );
    assert.ok(kinds.includes('prepare'), `its prepare job ran: ${kinds.join(', ')}`);
    assert.equal(await finetuneLosses(), before, 'no new fine-tuning epochs');
  });
});
