/**
 * `rdlab plan <spec>`: what a sweep costs before it is queued — cells, shards, samples, training
 * steps, and the compute time of each stage on each backend of the measured throughput table.
 *
 *   rdlab plan examples/table1.yaml
 *   rdlab plan examples/table1.yaml --backend native --json
 *   rdlab plan examples/table1.yaml --throughputs device-out/throughputs-cuda.json --backend cuda
 */
import { readFile } from 'node:fs/promises';
import {
  formatPlan,
  parseThroughputRows,
  planSweep,
  THROUGHPUTS,
  type Throughput,
  withThroughputs,
} from '@rdlab/plan';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { readValidSpec, reportProblems } from './spec.js';

function workerCounts(value: string): number[] {
  const counts = value.split(',').map(Number);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1))
    throw new CliError(`--workers must be positive integers separated by commas, got '${value}'`);
  return counts;
}

interface PlanOptions {
  json?: boolean;
  backend?: string;
  throughputs?: string;
  workers: number[];
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      "estimate a sweep's compute: cells, shards, samples, steps, and time per stage on each backend",
    )
    .argument('<spec>', 'the spec file (YAML or JSON)')
    .option('--json', 'print the plan as JSON (what the API returns for ?dryRun=true)')
    .option(
      '--backend <name>',
      `only this backend's estimate (${THROUGHPUTS.map((t) => t.backend).join(', ')})`,
    )
    .option(
      '--throughputs <file>',
      "add or replace rows of the throughput table (e.g. the CUDA device check's throughputs-cuda.json)",
    )
    .option(
      '--workers <n,…>',
      'worker counts to show the parallel time for (a lower bound)',
      workerCounts,
      [8],
    )
    .action(async (file: string, options: PlanOptions) => {
      let known: readonly Throughput[] = THROUGHPUTS;
      if (options.throughputs !== undefined) {
        const path = options.throughputs;
        let json: unknown;
        try {
          json = JSON.parse(await readFile(path, 'utf8'));
        } catch (error) {
          throw new CliError(`--throughputs ${path}: ${(error as Error).message}`);
        }
        try {
          known = withThroughputs(THROUGHPUTS, parseThroughputRows(json, `--throughputs ${path}`));
        } catch (error) {
          throw new CliError((error as Error).message);
        }
      }
      let table = known;
      if (options.backend !== undefined) {
        table = known.filter((t) => t.backend === options.backend);
        if (table.length === 0)
          throw new CliError(
            `unknown backend '${options.backend}': one of ${known.map((t) => t.backend).join(', ')}`,
          );
      }
      const result = await readValidSpec(file);
      const plan = planSweep(result.spec, result.cells, table);
      console.log(
        options.json
          ? JSON.stringify(plan, null, 2)
          : formatPlan(plan, { workers: options.workers }),
      );
      // A cell that fits no worker (limits.workerMemoryGiB) is refused, as the API refuses it.
      if (plan.problems.length > 0) reportProblems(file, plan.problems);
    });
}
