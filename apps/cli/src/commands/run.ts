/**
 * `rdlab run <spec> --local`: a whole sweep in this process, with progress bars; writes
 * results.json, results.csv, report.html, examples.jsonl and metrics.jsonl into --out.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { initBackend } from '@rdlab/ml';
import {
  buildReport,
  type MetricPoint,
  newCounters,
  renderReportHtml,
  resultsCsv,
  runSweep,
  tableMarkdown,
} from '@rdlab/pipeline';
import { openStore } from '@rdlab/store';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { TerminalProgress } from '../progress.js';
import { readValidSpec } from './spec.js';

interface RunOptions {
  local?: boolean;
  out: string;
  store: string;
  backend?: string;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a sweep: --local runs every stage in this process')
    .argument('<spec>', 'the sweep spec (YAML or JSON)')
    .option('--local', 'run in this process (the service arrives with `rdlab up`)')
    .option('--out <dir>', 'where results, report and metrics go', 'runs/latest')
    .option(
      '--store <dir|s3://bucket/prefix>',
      'artifact store: models, shards and checkpoints, reused across runs',
      '.rdlab/artifacts',
    )
    .option(
      '--backend <name>',
      'compute backend (default: RDLAB_BACKEND or the fastest that loads)',
    )
    .action(async (file: string, options: RunOptions) => {
      if (!options.local)
        throw new CliError('only --local runs exist so far: rdlab run <spec> --local');
      const { spec, cells } = await readValidSpec(file);
      const backend = await initBackend(options.backend);
      const store = await openStore(options.store);
      const out = resolve(options.out);
      mkdirSync(out, { recursive: true });
      const metricsFile = join(out, 'metrics.jsonl');
      writeFileSync(metricsFile, '');
      const progress = new TerminalProgress();
      progress.log(
        `rdlab: ${spec.name}, ${cells.length} cell${cells.length === 1 ? '' : 's'}, backend ${backend.name}, store ${store.location}`,
      );
      const started = performance.now();
      const counters = newCounters();
      const abort = new AbortController();
      process.once('SIGINT', () =>
        abort.abort(
          new Error('interrupted: finished epochs are kept; run the same command to resume'),
        ),
      );
      const run = await runSweep(
        {
          store,
          metrics: {
            record: (points: MetricPoint[]) =>
              appendFileSync(metricsFile, points.map((p) => `${JSON.stringify(p)}\n`).join('')),
          },
          progress,
          baseDir: dirname(resolve(file)),
          workDir: resolve('.rdlab', 'tmp'),
          counters,
          signal: abort.signal,
        },
        spec,
        cells,
      );
      const wallSeconds = (performance.now() - started) / 1000;
      const report = buildReport(spec, run.results);
      writeFileSync(
        join(out, 'results.json'),
        `${JSON.stringify({ spec: spec.name, backend: backend.name, wallSeconds, counters, datasets: run.datasets, report, cells: run.results }, null, 2)}\n`,
      );
      writeFileSync(join(out, 'results.csv'), resultsCsv(run.results));
      writeFileSync(
        join(out, 'report.html'),
        renderReportHtml(report, { wallSeconds, backend: backend.name }),
      );
      writeFileSync(
        join(out, 'examples.jsonl'),
        run.results
          .flatMap((r) =>
            r.final.examples.map((e) =>
              JSON.stringify({
                cell: r.cell.id,
                dataset: r.cell.dataset,
                attribute: r.cell.attribute,
                target: r.cell.target,
                dropout: r.cell.dropout,
                dropoutLabel: r.dropoutLabel,
                seed: r.cell.seed,
                ...e,
              }),
            ),
          )
          .join('\n') + '\n',
      );
      console.log(`\nAcc + Reward (mean ± sd over seeds)\n\n${tableMarkdown(report)}\n`);
      console.log(
        `${cells.length} cells in ${(wallSeconds / 60).toFixed(1)} min; sampled ${counters.sampledSequences} sequences, ${counters.trainSteps} update steps, ${counters.modelsTrained} models trained.`,
      );
      console.log(`report: ${join(out, 'report.html')}`);
    });
}
