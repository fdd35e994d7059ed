/**
 * Drill: a worker's disk fills (reliability issue 12, item 1e). Real embedded Postgres,
 * redis-server, a local artifact store, the scheduler and two workers (sandboxed children). The
 * first worker's scratch folder (`RDLAB_WORK_DIR`) is on a real, nearly full disk: a 1 MiB tmpfs
 * with 64 KiB left, so saving the behaviour model it trains in `prepare` fails with ENOSPC.
 *
 * - The job fails with `RDLAB_DISK_FULL: no space left on <its scratch folder> …`, naming the
 *   variable that moves it; the scratch files are gone (nothing partial left on the disk).
 * - The full worker stops taking jobs (it takes exactly that one); BullMQ's retry runs on the
 *   second worker, which completes it and the whole sweep.
 * - Once its disk has room again the full worker takes jobs again.
 *
 * Needs root to mount the tmpfs (CI runs as root); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freeBytes } from '@rdlab/store';
import { mountTmpfs, type Tmpfs } from '../../../../packages/store/test/tmpfs.js';
import { type RunningScheduler, startScheduler } from '../../../scheduler/src/main.js';
import {
  finished,
  type Services,
  startServices,
  submit,
  tinySpec,
  until,
} from '../../../scheduler/test/harness.js';
import { type RunningWorker, startWorker } from '../../src/worker.js';

const KiB = 1024;
const DISK_BYTES = 1024 * KiB;
const FILLER_BYTES = 960 * KiB;

const SPEC = tinySpec('full-disk');

describe('drill: full disk', { timeout: 240_000 }, async () => {
  let services: Services;
  let scheduler: RunningScheduler;
  let disk: Tmpfs | string = 'not mounted';
  const workers: RunningWorker[] = [];
  const saved = { ...process.env };

  // Mounted before the tests are declared, so a machine that cannot mount skips them, saying why.
  services = await startServices('full-disk');
  disk = await mountTmpfs(join(services.root, 'small-disk'), DISK_BYTES);
  const skip = typeof disk === 'string' ? disk : false;

  before(async () => {
    // A paused worker looks at its disk twice a second and wants 1 MiB free to take jobs again.
    Object.assign(process.env, { RDLAB_MIN_FREE_DISK_MB: '1', RDLAB_DISK_CHECK_MS: '500' });
    scheduler = await startScheduler({
      redisUrl: services.redis.url,
      databaseUrl: services.pg.url,
      store: join(services.root, 'artifacts'),
      intervalMs: 200,
    });
  });

  after(async () => {
    for (const w of workers) await w.close(1000);
    await scheduler?.close();
    if (typeof disk !== 'string') await disk.unmount();
    await services.stop();
    process.env = saved;
  });

  function start(id: string, workDir: string) {
    return startWorker({
      redisUrl: services.redis.url,
      databaseUrl: services.pg.url,
      store: join(services.root, 'artifacts'),
      baseDir: services.root,
      workDir,
      workerId: id,
      metricsPort: null,
    });
  }

  it('fails the job with RDLAB_DISK_FULL, and another worker completes it', { skip }, async () => {
    const mount = (disk as Tmpfs).path;
    await writeFile(join(mount, 'filler'), new Uint8Array(FILLER_BYTES));
    const scratch = join(mount, 'work');
    const full = await start('full', scratch);
    workers.push(full);
    const taken: string[] = [];
    full.worker.on('active', (job) => taken.push(job.name));

    const { id } = await submit(services.repos, SPEC);
    await until('prepare on the full worker', () =>
      services.db.stageJob.findFirst({
        where: { experimentId: id, kind: 'prepare', state: 'active', worker: 'full' },
      }),
    );
    const healthy = await start('healthy', join(services.root, 'work-healthy'));
    workers.push(healthy);
    const failed = await until('the disk-full failure', () =>
      services.db.stageJob.findFirst({
        where: { experimentId: id, kind: 'prepare', error: { contains: 'RDLAB_DISK_FULL' } },
      }),
    );
    const message = failed.error ?? '';
    assert.ok(
      message.startsWith(`RDLAB_DISK_FULL: no space left on ${scratch} (`),
      `the error names the scratch folder: ${message}`,
    );
    assert.match(message, /writing the local files of job prepare \(ENOSPC/);
    assert.match(
      message,
      /point RDLAB_WORK_DIR at a larger disk; the job is retried on another worker/,
    );
    assert.equal(failed.state, 'waiting', 'retried, not failed for good');

    const experiment = await finished(services.db, id);
    assert.equal(experiment.status, 'succeeded', experiment.error ?? '');
    const prepare = await services.db.stageJob.findFirstOrThrow({
      where: { experimentId: id, kind: 'prepare' },
    });
    assert.deepEqual([prepare.worker, prepare.attempts], ['healthy', 2]);
    const jobs = await services.db.stageJob.findMany({ where: { experimentId: id } });
    assert.ok(
      jobs.every((j: { worker: string | null }) => j.worker === 'healthy'),
      'every job ran on the healthy worker in the end',
    );
    assert.deepEqual(taken, ['prepare'], 'the full worker took no job after its disk filled');
    assert.equal(full.worker.isPaused(), true);
    assert.deepEqual(await readdir(scratch), [], 'no partial scratch file left on the full disk');
    const free = (await freeBytes(mount)) ?? -1;

    // Room again: the worker takes jobs again at its next look.
    await rm(join(mount, 'filler'));
    await until('the full worker to resume', async () => !full.worker.isPaused(), 10_000);
    console.log(
      `drill: full disk | ${DISK_BYTES / KiB} KiB disk with ${free} bytes free: prepare failed on "full" with RDLAB_DISK_FULL naming ${'$'}RDLAB_WORK_DIR, ` +
        `retried on "healthy" (attempt ${prepare.attempts}), ${jobs.length} jobs completed, 0 taken by the full worker after, resumed once freed | pass`,
    );
  });
});
