/**
 * `npm run bench:startup`: how long the API's and the scheduler's entry modules take to import
 * (their whole module graph, from TypeScript source as `rdlab up` runs them) and how much
 * resident memory the process holds afterwards. Each run is a fresh child process, so nothing
 * is cached in memory between runs; the first run of each warms tsx's disk cache and is not
 * counted. Prints medians (and JSON with --json). `--runs N` sets the runs per entry (default 7).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const json = process.argv.includes('--json');
const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 7;

const ENTRIES = {
  api: 'apps/api/src/main.ts',
  scheduler: 'apps/scheduler/src/main.ts',
} as const;

/** Run in the child: import the entry, then report the time it took and the memory held. */
const probe = (entry: string) => `
const t0 = performance.now();
await import(${JSON.stringify(new URL(entry, `file://${root}`).href)});
const importMs = performance.now() - t0;
const { rss, heapUsed } = process.memoryUsage();
// tfjs-core makes its engine global when it loads: whether the ML engine came along.
const tfjs = '_tfengine' in globalThis;
console.log(JSON.stringify({ importMs, startupMs: performance.now(), rss, heapUsed, tfjs }));
`;

interface Sample {
  importMs: number;
  startupMs: number;
  rss: number;
  heapUsed: number;
  tfjs: boolean;
}

function once(entry: string): Sample {
  const child = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', probe(entry)],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (child.status !== 0) throw new Error(`importing ${entry} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Sample;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const rows: Record<
  string,
  { importMs: number; startupMs: number; rssMiB: number; heapMiB: number; tfjs: boolean }
> = {};
for (const [name, entry] of Object.entries(ENTRIES)) {
  once(entry); // warm tsx's transform cache
  const samples = Array.from({ length: runs }, () => once(entry));
  rows[name] = {
    importMs: median(samples.map((s) => s.importMs)),
    startupMs: median(samples.map((s) => s.startupMs)),
    rssMiB: median(samples.map((s) => s.rss)) / 2 ** 20,
    heapMiB: median(samples.map((s) => s.heapUsed)) / 2 ** 20,
    tfjs: samples.some((s) => s.tfjs),
  };
}

if (json) console.log(JSON.stringify({ runs, rows }, null, 2));
else {
  console.log(`medians of ${runs} runs (child processes, after one warm-up run each)`);
  console.log('entry      import ms  process ms  RSS MiB  heap MiB  tfjs loaded');
  for (const [name, r] of Object.entries(rows))
    console.log(
      `${name.padEnd(10)} ${r.importMs.toFixed(0).padStart(9)}  ${r.startupMs.toFixed(0).padStart(10)}  ${r.rssMiB.toFixed(1).padStart(7)}  ${r.heapMiB.toFixed(1).padStart(8)}  ${r.tfjs ? 'yes' : 'no'}`,
    );
}
