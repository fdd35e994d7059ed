/**
 * Submitting specs whose model references are broken: 400 RDLAB_SPEC_INVALID naming the field,
 * nothing stored; and a plan that does not fit `limits.workerMemoryGiB`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BAD_REFERENCES,
  writeBertReferenceFixture,
  writeReferenceFixture,
} from '@rdlab/ml/reference-fixtures';
import { errorOf, type Harness, startHarness } from './harness.js';

const spec = (behavior: string, target?: string, limits?: object) => ({
  datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
  behavior: { model: { checkpoint: behavior } },
  targets: [target ? { model: { checkpoint: target }, init: 'pretrained' } : {}],
  dropout: [{ kind: 'none' }],
  ...(limits ? { limits } : {}),
});

describe('POST /v1/experiments with model references', { timeout: 60_000 }, () => {
  let h: Harness;
  let dir: string;
  before(async () => {
    h = await startHarness();
    dir = await mkdtemp(join(tmpdir(), 'rdlab-api-refs-'));
  });
  after(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: object, url = '/v1/experiments') =>
    h.request({ method: 'POST', url, payload: body });
  const rows = async () => ({
    experiments: await h.db.experiment.count(),
    cells: await h.db.cell.count(),
  });

  for (const kind of BAD_REFERENCES) {
    it(`refuses a checkpoint with ${kind}: 400 naming the field, nothing stored`, async () => {
      const good = await writeReferenceFixture(join(dir, `good-${kind}`), 'good');
      const bad = await writeReferenceFixture(join(dir, kind), kind);
      const before = await rows();
      for (const [body, path] of [
        [spec(bad), '/behavior/model/checkpoint'],
        [spec(good, bad), '/targets/0/model/checkpoint'],
      ] as const) {
        for (const url of ['/v1/experiments', '/v1/experiments?dryRun=true']) {
          const response = await post(body, url);
          assert.equal(response.statusCode, 400, response.body);
          const error = errorOf(response);
          assert.equal(error.code, 'RDLAB_SPEC_INVALID');
          const problems = error.details.problems as { path: string; message: string }[];
          assert.equal(problems[0]?.path, path, JSON.stringify(problems));
        }
      }
      assert.deepEqual(await rows(), before);
    });
  }

  it('refuses a BERT reward model whose tensors disagree with its config: 400 naming the tensor, nothing stored', async () => {
    const bad = await writeBertReferenceFixture(join(dir, 'bert-bad'), 'bert-wrong-shape');
    const before = await rows();
    const body = {
      datasets: [{ name: 'd', source: 'builtin:demo', attributes: ['positive'] }],
      rewardModel: { model: { checkpoint: bad } },
      dropout: [{ kind: 'none' }],
    };
    for (const url of ['/v1/experiments', '/v1/experiments?dryRun=true']) {
      const response = await post(body, url);
      assert.equal(response.statusCode, 400, response.body);
      const problems = errorOf(response).details.problems as { path: string; message: string }[];
      assert.equal(problems[0]?.path, '/rewardModel/model/checkpoint');
      assert.match(problems[0]?.message ?? '', /intermediate\.dense\.weight' has shape \[8, 8\]/);
    }
    assert.deepEqual(await rows(), before);
  });

  it('accepts a good checkpoint reference (dry run)', async () => {
    const good = await writeReferenceFixture(join(dir, 'good'), 'good');
    const response = await post(spec(good, good), '/v1/experiments?dryRun=true');
    assert.equal(response.statusCode, 200, response.body);
  });

  it('refuses a sweep whose cells fit no worker in limits.workerMemoryGiB', async () => {
    // β by the paper's preset, so the check needs no bucket (a remote reference is fetched).
    const body = {
      ...spec('unused'),
      behavior: { model: { preset: 'opt-6.7b' } },
      targets: [{ model: { preset: 'gpt2' }, init: 'random' }],
      limits: { workerMemoryGiB: 8 },
    };
    const response = await post(body, '/v1/experiments?dryRun=true');
    assert.equal(response.statusCode, 400, response.body);
    const problems = errorOf(response).details.problems as { path: string; message: string }[];
    assert.equal(problems[0]?.path, '/targets/0');
    assert.match(problems[0]?.message ?? '', /workerMemoryGiB 8/);
  });
});
