/**
 * `npm run bench:service`: the service's figures on this machine, printed as a table (and as
 * JSON with --json).
 *
 * 1. API latency: p50/p99 of POST /v1/experiments and GET /v1/experiments/:id at a fixed rate,
 *    open loop, from each request's scheduled time (apps/api/test/open-loop.ts).
 * 2. Queue overhead per job: enqueue → start and total time per no-op job on the stages queue.
 * 3. The demo through the service (`rdlab demo`) against `rdlab run --local`, each from a cold
 *    store, as whole commands (goal: the service at most 10% slower).
 * 4. Bootstrap throughput with one and with two single-threaded workers (goal: two ≥ 1.8× one).
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb } from '@rdlab/db';
import { redisConnection } from '@rdlab/jobs';
import { Queue, Worker } from 'bullmq';
// The API's open-loop load generator, shared with its load drill.
import { atRate, percentile } from '../../api/test/open-loop.js';
import { ApiClient, readSpecForSubmission } from '../src/stack/client.js';
import { startStack } from '../src/stack/stack.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const rdlab = join(root, 'apps/cli/bin/rdlab.js');
const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');

const TINY = (name: string, seed = 0) => ({
  name,
  datasets: [{ name: 'demo', source: 'builtin:demo', attributes: ['positive'] }],
  behavior: { model: { preset: 'tiny' }, training: { epochs: 1, sentencesPerAttribute: 200 } },
  rewardModel: { training: { epochs: 1, sentencesPerAttribute: 200 } },
  dropout: [{ kind: 'none' }],
  training: { batchSize: 16, epochs: 1, maxLength: 20, temperature: 1 },
  bootstrap: { prefixesPerAttribute: 64, samplesPerPrefix: 2, shardSize: 64, seed },
  evaluation: { prefixes: 8 },
});

async function tempDir(label: string) {
  const dir = await mkdtemp(join(tmpdir(), `rdlab-bench-${label}-`));
  await chmod(dir, 0o755); // embedded Postgres runs as its own user under root
  return dir;
}

const rows: Array<[string, string]> = [];
const out: Record<string, unknown> = {};
const row = (name: string, value: string) => {
  rows.push([name, value]);
  if (!json) console.error(`${name}: ${value}`);
};

// 1 + 2: API latency and queue overhead, on a stack without workers.
{
  const dir = await tempDir('api');
  const stack = await startStack({ dataDir: dir, port: 0, workers: 0 });
  try {
    const headers = { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' };
    const rate = quick ? 10 : 20;
    const seconds = quick ? 3 : 10;
    let n = 0;
    const post = await atRate(rate, seconds, () =>
      fetch(`${stack.apiUrl}/v1/experiments`, {
        method: 'POST',
        headers,
        body: JSON.stringify(TINY(`bench-${n++}`)),
      }),
    );
    const created = (await (
      await fetch(`${stack.apiUrl}/v1/experiments?limit=1`, { headers })
    ).json()) as { items: Array<{ id: string }> };
    const id = created.items[0]?.id;
    const get = await atRate(rate + rate / 2, seconds, () =>
      fetch(`${stack.apiUrl}/v1/experiments/${id}`, { headers }),
    );
    out.api = {
      post: {
        ratePerS: rate,
        p50Ms: percentile(post.latenciesMs, 50),
        p99Ms: percentile(post.latenciesMs, 99),
        errors: post.errors,
      },
      get: {
        ratePerS: rate + rate / 2,
        p50Ms: percentile(get.latenciesMs, 50),
        p99Ms: percentile(get.latenciesMs, 99),
        errors: get.errors,
      },
    };
    row(
      'POST /v1/experiments',
      `${rate}/s for ${seconds} s: p50 ${percentile(post.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(post.latenciesMs, 99).toFixed(1)} ms, ${post.errors} errors`,
    );
    row(
      'GET /v1/experiments/:id',
      `${rate + rate / 2}/s for ${seconds} s: p50 ${percentile(get.latenciesMs, 50).toFixed(1)} ms, p99 ${percentile(get.latenciesMs, 99).toFixed(1)} ms, ${get.errors} errors`,
    );

    // Queue overhead: no-op jobs through a Worker with the workers' settings.
    const queue = new Queue('rdlab-bench-overhead', {
      connection: redisConnection(stack.redisUrl),
    });
    const jobs = quick ? 200 : 1000;
    let done = 0;
    const delays: number[] = [];
    const finished = new Promise<void>((resolve) => {
      const worker = new Worker(
        'rdlab-bench-overhead',
        async (job) => {
          delays.push(Date.now() - job.timestamp);
        },
        { connection: redisConnection(stack.redisUrl, { role: 'worker' }), concurrency: 1 },
      );
      worker.on('completed', () => {
        done += 1;
        if (done === jobs) void worker.close().then(resolve);
      });
    });
    const t0 = performance.now();
    await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i } })));
    await finished;
    const perJobMs = (performance.now() - t0) / jobs;
    await queue.obliterate({ force: true });
    await queue.close();
    out.queue = { jobs, perJobMs, enqueueToStartP50Ms: percentile(delays, 50) };
    row('queue overhead', `${perJobMs.toFixed(2)} ms per no-op job (${jobs} jobs, concurrency 1)`);
  } finally {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// 3: the demo from a cold store, as whole commands (`rdlab run --local` against `rdlab demo`,
// whose stack start and stop are included) and as the sweep alone (runSweep's wall time against
// the experiment's submission → finish on a running stack with one worker).
if (!quick) {
  const local = await tempDir('local');
  const service = await tempDir('service');
  const time = (args: string[]) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [rdlab, ...args], { cwd: root, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`rdlab ${args.join(' ')} exited ${r.status}`);
    return (performance.now() - t0) / 1000;
  };
  const localOut = join(local, 'out');
  const localS = time([
    'run',
    'examples/demo.yaml',
    '--local',
    '--out',
    localOut,
    '--store',
    join(local, 'artifacts'),
  ]);
  const localSweepS = (
    JSON.parse(await readFile(join(localOut, 'results.json'), 'utf8')) as { wallSeconds: number }
  ).wallSeconds;
  const serviceS = time([
    'demo',
    '--data-dir',
    join(service, 'stack'),
    '--out',
    join(service, 'out'),
  ]);
  // The sweep alone through a running stack, on a fresh artifact store.
  const stack = await startStack({ dataDir: join(service, 'warm'), port: 0, workers: 1 });
  let sweepS = Number.NaN;
  try {
    const client = new ApiClient(stack.apiUrl, stack.token);
    const t0 = performance.now();
    const { id } = await client.submit(
      await readSpecForSubmission(join(root, 'examples/demo.yaml')),
    );
    const view = await client.wait(id as string, undefined, 100);
    sweepS = (performance.now() - t0) / 1000;
    if (view.status !== 'succeeded') throw new Error(`demo through the stack: ${view.status}`);
  } finally {
    await stack.stop();
  }
  out.demo = {
    localSeconds: localS,
    serviceSeconds: serviceS,
    localSweepSeconds: localSweepS,
    serviceSweepSeconds: sweepS,
    sweepRatio: sweepS / localSweepS,
  };
  row(
    'demo, whole commands',
    `rdlab run --local ${localS.toFixed(1)} s; rdlab demo (stack start and stop included) ${serviceS.toFixed(1)} s: ${((serviceS / localS - 1) * 100).toFixed(0)}% more`,
  );
  row(
    'demo, the sweep alone',
    `in one process ${localSweepS.toFixed(1)} s; submitted to a running stack, until succeeded, ${sweepS.toFixed(1)} s: ${((sweepS / localSweepS - 1) * 100).toFixed(0)}% more`,
  );
  await rm(local, { recursive: true, force: true });
  await rm(service, { recursive: true, force: true });
}

// 4: bootstrap throughput, one and two single-threaded workers. Each stack first runs a warm-up
// sweep (β and R trained, and loaded by every worker); the measured sweep then samples new
// shards (another seed) with warm workers, from its first shard's start to its last one's end.
if (!quick) {
  const dir = await tempDir('bootstrap');
  const spec = (seed: number, prefixes: number) => ({
    ...TINY(`bootstrap-${seed}`, seed),
    bootstrap: {
      prefixesPerAttribute: prefixes,
      samplesPerPrefix: 4,
      shardSize: prefixes / 8,
      seed,
    },
  });
  const measure = async (workers: number, seed: number) => {
    const stack = await startStack({
      dataDir: dir,
      port: 0,
      workers,
      workerEnv: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    });
    const db = createDb(stack.databaseUrl);
    try {
      const headers = {
        authorization: `Bearer ${stack.token}`,
        'content-type': 'application/json',
      };
      const run = async (body: unknown) => {
        const { id } = (await (
          await fetch(`${stack.apiUrl}/v1/experiments`, {
            method: 'POST',
            headers,
            body: JSON.stringify(body),
          })
        ).json()) as { id: string };
        for (;;) {
          const e = await db.experiment.findUniqueOrThrow({ where: { id } });
          if (['succeeded', 'failed', 'partial', 'cancelled'].includes(e.status)) return id;
          await new Promise((r) => setTimeout(r, 250));
        }
      };
      await run(spec(seed + 1000, 64)); // warm-up: 8 small shards, every worker loads β and R
      const prefixes = 4000;
      const id = await run(spec(seed, prefixes));
      const shards = await db.stageJob.findMany({ where: { experimentId: id, kind: 'bootstrap' } });
      const start = Math.min(...shards.map((s) => s.startedAt?.getTime() ?? Number.NaN));
      const end = Math.max(...shards.map((s) => s.finishedAt?.getTime() ?? Number.NaN));
      return (prefixes * 4) / ((end - start) / 1000);
    } finally {
      await db.$disconnect();
      await stack.stop();
    }
  };
  await measure(1, 100); // trains β and R once for both measurements
  const one = await measure(1, 101);
  const two = await measure(2, 102);
  out.bootstrap = { oneWorkerSamplesPerS: one, twoWorkersSamplesPerS: two, speedup: two / one };
  row(
    'bootstrap',
    `1 worker ${one.toFixed(0)} samples/s, 2 workers ${two.toFixed(0)} samples/s: ×${(two / one).toFixed(2)} (single-threaded workers, warm)`,
  );
  await rm(dir, { recursive: true, force: true });
}

if (json) console.log(JSON.stringify(out, null, 2));
else {
  console.log('\n| figure | value |\n|---|---|');
  for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);
}
process.exit(0);
