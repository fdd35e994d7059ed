/**
 * The service from the command line: `rdlab up` (the embedded stack), `rdlab demo` (the demo
 * sweep through it), the API client commands `submit`, `status`, `results`, `cancel`, and
 * `token create`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createDb, migrate, Repositories } from '@rdlab/db';
import { type SweepReport, tableMarkdown } from '@rdlab/pipeline';
import type { Command } from 'commander';
import { CliError, EXIT } from '../errors.js';
import { TerminalProgress } from '../progress.js';
import { ApiClient, type ExperimentView, readSpecForSubmission } from '../stack/client.js';
import { type Stack, startStack } from '../stack/stack.js';

interface ClientFlags {
  api?: string;
  token?: string;
}

function clientOptions(command: Command): Command {
  return command
    .option('--api <url>', 'the API (default: RDLAB_API)')
    .option('--token <token>', 'a bearer token (default: RDLAB_TOKEN)');
}

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(
      `--port must be a port number in [0, 65535] (0: any free port), got '${text}'`,
    );
  return n;
}

function workerCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new CliError(`--workers must be an integer in [1, 64], got '${text}'`);
  return n;
}

/** Stage bars from the API's progress: done = completed + failed of each stage's jobs. */
class ExperimentProgress {
  private readonly bars = new TerminalProgress();
  private readonly started = new Set<string>();
  private readonly done = new Map<string, number>();

  update(view: ExperimentView): void {
    for (const [stage, states] of Object.entries(view.progress?.stages ?? {})) {
      // Jobs appear as the scheduler queues them; a cell has one train and one publish job.
      const queued = Object.values(states).reduce((a, b) => a + b, 0);
      const total =
        stage === 'train' || stage === 'publish' ? Math.max(queued, view.cellCount) : queued;
      if (queued === 0) continue;
      const finished = (states.completed ?? 0) + (states.failed ?? 0);
      if (!this.started.has(stage)) {
        this.started.add(stage);
        this.bars.start({ id: stage, label: stage, total, unit: 'jobs' });
      }
      this.bars.grow(stage, total);
      this.bars.advance(
        stage,
        finished - (this.done.get(stage) ?? 0),
        `${states.active ?? 0} running`,
      );
      this.done.set(stage, finished);
    }
  }

  finish(): void {
    for (const stage of this.started) this.bars.finish(stage);
  }
}

/** Waits for an experiment with progress bars; returns its final view. */
async function watch(client: ApiClient, id: string): Promise<ExperimentView> {
  const progress = new ExperimentProgress();
  const view = await client.wait(id, (v) => progress.update(v));
  progress.finish();
  return view;
}

async function printResults(client: ApiClient, view: ExperimentView, out?: string) {
  const { report } = (await client.results(view.id, 'json')) as { report: SweepReport };
  console.log(
    `\n${report.name}: Acc + Reward (rows: target × dropout; start = π before training)\n`,
  );
  console.log(tableMarkdown(report));
  const verdicts = report.variants
    .filter((v) => v.versusNone)
    .map(
      (v) =>
        `  ${v.dataset}/${v.attribute} ${v.dropoutLabel}: vs start ${v.versusStart.verdict}, vs none ${v.versusNone?.verdict}${v.degenerated ? ' (degenerated)' : ''}`,
    );
  if (verdicts.length)
    console.log(`\nverdicts (95% paired bootstrap intervals):\n${verdicts.join('\n')}`);
  if (out) {
    await mkdir(out, { recursive: true });
    const html = await (await client.request(`/v1/experiments/${view.id}/report`)).text();
    await writeFile(join(out, 'report.html'), html);
    await writeFile(join(out, 'results.csv'), (await client.results(view.id, 'csv')) as string);
    console.log(`\nreport: ${join(out, 'report.html')}`);
  }
}

async function untilSignal(stack: Stack): Promise<void> {
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      console.error('rdlab: stopping the stack…');
      void stack.stop().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function registerServiceCommands(program: Command): void {
  program
    .command('up')
    .description('start the embedded stack: Postgres, Redis, artifacts, API, scheduler, workers')
    .option('--port <n>', 'API port (0: any free port)', port, 8080)
    .option('--data-dir <dir>', 'where the stack keeps its data', '.rdlab/stack')
    .option('--workers <n>', 'worker processes', workerCount, 1)
    .action(async (o: { port: number; dataDir: string; workers: number }) => {
      const stack = await startStack({
        dataDir: o.dataDir,
        port: o.port,
        workers: o.workers,
        log: (line) => console.error(`rdlab: ${line}`),
      });
      console.log(`API: ${stack.apiUrl}`);
      console.log(`Token: ${stack.token}`);
      console.error('rdlab: the stack is up; Ctrl-C stops it');
      await untilSignal(stack);
    });

  program
    .command('demo')
    .description('start the embedded stack, run the demo sweep through its API, print the results')
    .option('--spec <file>', 'the sweep to run', 'examples/demo.yaml')
    .option('--data-dir <dir>', 'where the stack keeps its data', '.rdlab/demo-stack')
    .option('--out <dir>', 'where report.html and results.csv go', 'runs/demo')
    .option('--port <n>', 'API port (0: any free port)', port, 0)
    .action(async (o: { spec: string; dataDir: string; out: string; port: number }) => {
      const spec = await readSpecForSubmission(o.spec);
      const started = performance.now();
      const stack = await startStack({
        dataDir: o.dataDir,
        port: o.port,
        log: (line) => console.error(`rdlab: ${line}`),
      });
      try {
        console.log(`API: ${stack.apiUrl}`);
        console.log(`Token: ${stack.token}`);
        const client = new ApiClient(stack.apiUrl, stack.token);
        const { id } = await client.submit(spec);
        if (!id)
          throw new CliError(
            'the API accepted the spec but returned no experiment id',
            EXIT.failure,
          );
        console.error(`rdlab: experiment ${id} submitted`);
        const view = await watch(client, id);
        if (view.status !== 'succeeded' && view.status !== 'partial')
          throw new CliError(`experiment ${id} ${view.status}: ${view.error ?? ''}`, EXIT.failure);
        await printResults(client, view, resolve(o.out));
        console.error(
          `rdlab: demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
      } finally {
        await stack.stop();
      }
    });

  clientOptions(
    program
      .command('submit <spec>')
      .description('submit a sweep spec to the API')
      .option('--watch', 'wait for it with progress bars and print the results')
      .option('--dry-run', 'print the plan without queuing')
      .option('--idempotency-key <key>', 'a retry with the same key returns the same experiment'),
  ).action(
    async (
      file: string,
      o: ClientFlags & { watch?: boolean; dryRun?: boolean; idempotencyKey?: string },
    ) => {
      const client = ApiClient.from(o);
      const out = await client.submit(await readSpecForSubmission(file), {
        ...(o.dryRun ? { dryRun: true } : {}),
        ...(o.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
      });
      if (o.dryRun || !out.id) {
        console.log(JSON.stringify(out.plan, null, 2));
        return;
      }
      console.log(out.id);
      if (o.watch) {
        const view = await watch(client, out.id);
        console.error(`rdlab: ${out.id} ${view.status}`);
        if (view.status === 'succeeded' || view.status === 'partial')
          await printResults(client, view);
        else throw new CliError(`experiment ${out.id} ${view.status}`, EXIT.failure);
      }
    },
  );

  clientOptions(
    program
      .command('status <id>')
      .description('an experiment: status, progress, ETA')
      .option('--json'),
  ).action(async (id: string, o: ClientFlags & { json?: boolean }) => {
    const view = await ApiClient.from(o).experiment(id);
    if (o.json) {
      console.log(JSON.stringify(view));
      return;
    }
    console.log(`${view.id} ${view.name}: ${view.status} (${view.cellCount} cells)`);
    for (const [stage, states] of Object.entries(view.progress?.stages ?? {}))
      console.log(
        `  ${stage.padEnd(9)} ${Object.entries(states)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')}`,
      );
    const eta = view.progress?.etaSeconds;
    if (eta != null) console.log(`  ETA ${Math.round(eta)} s`);
  });

  clientOptions(
    program
      .command('results <id>')
      .description("an experiment's results: JSON (report and cells) or CSV")
      .option('--csv'),
  ).action(async (id: string, o: ClientFlags & { csv?: boolean }) => {
    const out = await ApiClient.from(o).results(id, o.csv ? 'csv' : 'json');
    console.log(typeof out === 'string' ? out.trimEnd() : JSON.stringify(out));
  });

  clientOptions(
    program.command('cancel <id>').description('cancel an experiment; what it stored stays'),
  ).action(async (id: string, o: ClientFlags) => {
    const view = await ApiClient.from(o).cancel(id);
    console.log(`${view.id}: ${view.status}`);
  });

  const token = program.command('token').description('API tokens');
  token
    .command('create')
    .description('create a bearer token for a team (the secret is printed once, stored hashed)')
    .requiredOption('--team <name>', 'the team (created when new)')
    .option('--name <label>', 'what the token is for', 'cli')
    .option('--database-url <url>', 'Postgres (default: DATABASE_URL)')
    .action(async (o: { team: string; name: string; databaseUrl?: string }) => {
      const url = o.databaseUrl ?? process.env.DATABASE_URL;
      if (!url) throw new CliError('no database: give --database-url or set DATABASE_URL');
      await migrate(url);
      const db = createDb(url);
      try {
        const repos = new Repositories(db);
        if (!(await repos.teams.findTeamByName(o.team))) await repos.teams.createTeam(o.team);
        const { token: secret } = await repos.tokens.createToken(o.team, o.name);
        console.log(secret);
      } finally {
        await db.$disconnect();
      }
    });
}
