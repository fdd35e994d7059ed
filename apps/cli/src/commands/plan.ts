/**
 * `rdlab plan <spec>`: what a sweep costs before it is queued — cells, shards, samples, training
 * steps, and the compute time of each stage on each backend of the measured throughput table.
 *
 *   rdlab plan examples/table1.yaml
 *   rdlab plan examples/table1.yaml --backend native --json
 */
import { formatPlan, planSweep, THROUGHPUTS } from '@rdlab/pipeline';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { readValidSpec } from './spec.js';

function workerCounts(value: string): number[] {
  const counts = value.split(',').map(Number);
  if (counts.length === 0 || counts.some((n) => !Number.isInteger(n) || n < 1))
    throw new CliError(`--workers must be positive integers separated by commas, got '${value}'`);
  return counts;
}

interface PlanOptions {
  json?: boolean;
  backend?: string;
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
      '--workers <n,…>',
      'worker counts to show the parallel time for (a lower bound)',
      workerCounts,
      [8],
    )
    .action(async (file: string, options: PlanOptions) => {
      let table = THROUGHPUTS;
      if (options.backend !== undefined) {
        table = THROUGHPUTS.filter((t) => t.backend === options.backend);
        if (table.length === 0)
          throw new CliError(
            `unknown backend '${options.backend}': one of ${THROUGHPUTS.map((t) => t.backend).join(', ')}`,
          );
      }
      const result = await readValidSpec(file);
      const plan = planSweep(result.spec, result.cells, table);
      console.log(
        options.json
          ? JSON.stringify(plan, null, 2)
          : formatPlan(plan, { workers: options.workers }),
      );
    });
}
