/** `rdlab bench train`: one Adam step of a GPT, so engines can be timed side by side. */
import { benchTraining, initBackend } from '@rdlab/ml';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      throw new CliError(`--${name} must be a positive integer, got '${value}'`);
    return n;
  };
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('measure engine throughput');
  bench
    .command('train')
    .description('time one Adam training step of a GPT on random tokens (after a warm-up step)')
    .option('--vocab <n>', 'vocabulary size', positiveInt('vocab'), 4096)
    .option('--dim <n>', 'embedding width', positiveInt('dim'), 128)
    .option('--layers <n>', 'layers', positiveInt('layers'), 4)
    .option('--heads <n>', 'attention heads', positiveInt('heads'), 4)
    .option('--batch <n>', 'sequences per step', positiveInt('batch'), 64)
    .option('--seq <n>', 'tokens per sequence', positiveInt('seq'), 30)
    .option('--steps <n>', 'timed steps (median reported)', positiveInt('steps'), 5)
    .option(
      '--backend <name>',
      'compute backend (default: RDLAB_BACKEND or the fastest that loads)',
    )
    .option('--profile', 'also print where the time of a step goes (native engine)')
    .option('--json', 'print {"backend", "params", "tokens_per_s", "step_s"}')
    .action(async (o: BenchTrainOptions) => {
      if (o.dim % o.heads !== 0)
        throw new CliError(`--dim (${o.dim}) must be divisible by --heads (${o.heads})`);
      // The native engine times its phases only when this is set before its first step.
      if (o.profile) process.env.RDLAB_NATIVE_PROFILE = '1';
      await initBackend(o.backend, () => {});
      const config = {
        vocab_size: o.vocab,
        n_positions: o.seq,
        n_embd: o.dim,
        n_layer: o.layers,
        n_head: o.heads,
        layer_norm_epsilon: 1e-5,
      };
      const r = benchTraining(config, o.batch, o.seq, o.steps);
      const out = {
        backend: r.backend,
        params: r.params,
        tokens_per_s: Math.round(r.tokens_per_s),
        step_s: Number(r.step_s.toFixed(4)),
      };
      const phases =
        o.profile && r.phases
          ? Object.entries(r.phases)
              .filter(([, s]) => s > 0)
              .sort((a, b) => b[1] - a[1])
          : [];
      if (o.json) {
        console.log(
          JSON.stringify(
            phases.length > 0
              ? {
                  ...out,
                  phases_ms: Object.fromEntries(phases.map(([k, s]) => [k, (1000 * s) / o.steps])),
                }
              : out,
          ),
        );
        return;
      }
      console.log(
        `${out.backend}: ${out.params} parameters, ${out.tokens_per_s} tokens/s, ${out.step_s} s/step (${r.gflops.toFixed(2)} GFLOP/s)`,
      );
      const total = phases.reduce((a, [, s]) => a + s, 0);
      for (const [name, s] of phases)
        console.log(
          `  ${name.padEnd(20)} ${((1000 * s) / o.steps).toFixed(1).padStart(7)} ms/step ${((100 * s) / total).toFixed(1).padStart(5)}%`,
        );
      if (o.profile && phases.length === 0)
        console.log('  (phase timings come from the native engine only)');
    });
}

interface BenchTrainOptions {
  vocab: number;
  dim: number;
  layers: number;
  heads: number;
  batch: number;
  seq: number;
  steps: number;
  backend?: string;
  json?: boolean;
  profile?: boolean;
}
