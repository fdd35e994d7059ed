import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobIdError, jobId, UnknownJobError } from './index.js';

describe('jobId', () => {
  it('is deterministic: the same job and parts give the same id', () => {
    const key = 'shards/3f9a0c1d2e4b5a6978c0d1e2.arrow';
    assert.equal(jobId('bootstrap', key), jobId('bootstrap', key));
    assert.equal(jobId('bootstrap', key), 'bootstrap~shards/3f9a0c1d2e4b5a6978c0d1e2.arrow');
    assert.equal(jobId('prepare', 'behavior/ab12', 3), 'prepare~behavior/ab12~3');
  });

  it('differs when the job name or any part differs', () => {
    const ids = new Set([
      jobId('train', 'c1'),
      jobId('publish', 'c1'),
      jobId('train', 'c2'),
      jobId('train', 'c1', 'x'),
      jobId('train', 'c1x'),
    ]);
    assert.equal(ids.size, 5);
  });

  it('never contains ":" and is never an integer (both rejected by BullMQ)', () => {
    const id = jobId('bootstrap', 0);
    assert.ok(!id.includes(':'));
    assert.notEqual(`${Number.parseInt(id, 10)}`, id);
    assert.throws(() => jobId('bootstrap', 'bull:rdlab-stages:1'), JobIdError);
  });

  it('rejects parts that could collide or break keys, with a stable code', () => {
    for (const bad of ['', 'a~b', 'a b', 'é', '-1'.replace('-', '\n')]) {
      assert.throws(
        () => jobId('train', bad),
        (e: unknown) => e instanceof JobIdError && e.code === 'RDLAB_JOB_ID_INVALID',
        JSON.stringify(bad),
      );
    }
    for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => jobId('train', bad), JobIdError);
    assert.throws(() => jobId('train'), /at least one part/);
    assert.throws(() => jobId('train', 'x'.repeat(600)), /pass a hash/);
  });

  it('rejects unknown job names', () => {
    assert.throws(() => jobId('sample' as 'train', 'c1'), UnknownJobError);
  });
});
