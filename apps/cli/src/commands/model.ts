/**
 * `rdlab model logprobs`: a checkpoint's token log-probabilities, and `rdlab model step`: one
 * reward-dropout step — both to check rdlab against other tools.
 */
import { initBackend, loadLanguageModel } from '@rdlab/ml';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { registerModelClassifyCommand } from './model-classify.js';
import { registerModelStepCommand } from './model-step.js';

function parseIds(text: string): number[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.length < 2 || ids.some((s) => !/^\d+$/.test(s))) {
    throw new CliError(
      `--ids must be two or more comma-separated token ids, such as 3,52,7; got '${text}'`,
    );
  }
  return ids.map(Number);
}

export function registerModelCommands(program: Command): void {
  const model = program
    .command('model')
    .description('inspect language-model and reward-model checkpoints');
  registerModelStepCommand(model);
  registerModelClassifyCommand(model);
  model
    .command('logprobs')
    .description('log-probability of each token given those before it (natural log)')
    .requiredOption(
      '--model <dir>',
      'a GPT-2 checkpoint directory (config.json + model.safetensors)',
    )
    .requiredOption('--ids <ids>', 'comma-separated token ids, e.g. 3,52,7')
    .option(
      '--backend <name>',
      'compute backend (default: RDLAB_BACKEND or the fastest that loads)',
    )
    .option('--json', 'print {"token_logprobs": [...]}')
    .action(async (options: { model: string; ids: string; backend?: string; json?: boolean }) => {
      const ids = parseIds(options.ids);
      await initBackend(options.backend, () => {});
      const lm = await loadLanguageModel(options.model).catch((error: Error) => {
        throw new CliError(error.message);
      });
      const vocab = lm.config.vocab_size;
      const bad = ids.find((id) => id >= vocab);
      if (bad !== undefined)
        throw new CliError(`--ids: token ${bad} is outside the vocabulary of ${vocab}`);
      if (ids.length > lm.config.n_positions)
        throw new CliError(
          `--ids: ${ids.length} tokens exceed the model's ${lm.config.n_positions} positions`,
        );
      const logp = Array.from(
        lm
          .tokenLogprobs({ ids: Int32Array.from(ids), batchSize: 1, length: ids.length })
          .subarray(1),
      );
      lm.dispose();
      if (options.json) console.log(JSON.stringify({ token_logprobs: logp }));
      else {
        for (const [i, id] of ids.slice(1).entries()) {
          console.log(`${String(id).padStart(8)}  ${(logp[i] as number).toFixed(6)}`);
        }
      }
    });
}
