import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePayload } from '@rdlab/jobs';
import { ArtifactCorruptError, DiskFullError, InvalidKeyError } from '@rdlab/store';
import { UnrecoverableError } from 'bullmq';
import { WorkerConfigError } from './config.js';
import { diskGuardOptions } from './disk-guard.js';
import { classifyFailure } from './failures.js';

const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });

describe('classifyFailure', () => {
  it('turns ENOSPC, or a cause of it, into RDLAB_DISK_FULL naming the folder and its variable', async () => {
    const work = await mkdtemp(join(tmpdir(), 'rdlab-work-'));
    const places = [
      { path: join(work, 'absent'), variable: 'RDLAB_CACHE_DIR' }, // unknown free space: not it
      { path: work, variable: 'RDLAB_WORK_DIR' },
    ];
    for (const error of [enospc(), new Error('saving β failed', { cause: enospc() })]) {
      const out = await classifyFailure(error, 'train', places);
      assert.ok(out instanceof DiskFullError, String(out));
      assert.equal(out.path, work);
      assert.match(
        out.message,
        /^RDLAB_DISK_FULL: no space left on \S+ \(\d+ bytes free\) writing the local files of job train \(.+\): free space there or point RDLAB_WORK_DIR at a larger disk; the job is retried on another worker$/,
      );
    }
    // The local store already knows the key: kept as it is.
    const fromStore = new DiskFullError('/data/artifacts', 'artifact shards/a.arrow', 0);
    assert.equal(await classifyFailure(fromStore, 'bootstrap', places), fromStore);
  });

  it('gives up at once on a bad payload, a bad key and a damaged object; retries the rest', async () => {
    const payload = (() => {
      try {
        parsePayload('train', { version: 1 });
      } catch (error) {
        return error;
      }
    })();
    const corrupt = new ArtifactCorruptError('shards/a.arrow', 's3://b/p', 'SHA-256 differs', 3);
    for (const [error, code] of [
      [payload, 'RDLAB_JOB_PAYLOAD_INVALID'],
      [corrupt, 'RDLAB_STORE_CORRUPT'],
      [new InvalidKeyError('../escape'), 'RDLAB_STORE_INVALID_KEY'],
    ] as const) {
      const out = await classifyFailure(error, 'train', []);
      assert.ok(out instanceof UnrecoverableError, String(out));
      assert.ok(out.message.startsWith(`${code}: `), out.message);
    }
    const outage = Object.assign(new Error('Service Unavailable'), {
      $metadata: { httpStatusCode: 503 },
    });
    assert.equal(await classifyFailure(outage, 'train', []), outage);
  });
});

describe('diskGuardOptions', () => {
  it('reads RDLAB_MIN_FREE_DISK_MB and RDLAB_DISK_CHECK_MS, with defaults', () => {
    assert.deepEqual(diskGuardOptions({}), { minFreeBytes: 1024 * 1024 * 1024, checkMs: 30_000 });
    assert.deepEqual(
      diskGuardOptions({ RDLAB_MIN_FREE_DISK_MB: '2', RDLAB_DISK_CHECK_MS: '500' }),
      {
        minFreeBytes: 2 * 1024 * 1024,
        checkMs: 500,
      },
    );
    assert.throws(
      () => diskGuardOptions({ RDLAB_DISK_CHECK_MS: '0' }),
      (e: Error) =>
        e instanceof WorkerConfigError &&
        /RDLAB_DISK_CHECK_MS must be an integer ≥ 1, got '0'/.test(e.message),
    );
  });
});
