/**
 * The rdlab command line.
 *
 *   rdlab demo                               the demo sweep on the embedded stack
 *   rdlab up                                 the embedded stack: API, scheduler, a worker
 *   rdlab submit examples/demo.yaml --watch  a sweep through any API
 *   rdlab spec validate examples/table1.yaml
 *   rdlab run examples/demo.yaml --local     in one process
 */
import { Command, CommanderError } from 'commander';
import { registerBenchCommands } from './commands/bench.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerEvalTextCommand } from './commands/eval-text.js';
import { registerModelCommands } from './commands/model.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerRunCommand } from './commands/run.js';
import { registerServiceCommands } from './commands/service.js';
import { registerSpecCommands } from './commands/spec.js';
import { CliError, EXIT } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('rdlab')
    .description('reward-dropout RLHF experiments, from one machine to a cluster')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerSpecCommands(program);
  registerPlanCommand(program);
  registerRunCommand(program);
  registerServiceCommands(program);
  registerEvalTextCommand(program);
  registerModelCommands(program);
  registerBenchCommands(program);
  registerDoctorCommand(program);
  const exitOverride = (command: Command) => {
    command.exitOverride();
    command.commands.forEach(exitOverride);
  };
  program.commands.forEach(exitOverride);
  return program;
}

export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      console.error(`rdlab: ${error.message}`);
      return error.exitCode;
    }
    // Unreadable or malformed datasets and specs are the input's fault, not rdlab's.
    const code = (error as { code?: unknown }).code;
    if (
      typeof code === 'string' &&
      (code.startsWith('RDLAB_DATA_') || code === 'RDLAB_SPEC_INVALID')
    ) {
      console.error(`rdlab: ${(error as Error).message}`);
      return EXIT.usage;
    }
    console.error(`rdlab: ${(error as Error).message ?? String(error)}`);
    if (process.env.RDLAB_DEBUG) console.error(error);
    return EXIT.failure;
  }
}

// `rdlab … | head` closes stdout early; that is not an error to report.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await run(process.argv.slice(2));
}
