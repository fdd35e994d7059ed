/** `rdlab eval-text`: BLEU, ROUGE and METEOR for any two files of sentences. */
import { readFile } from 'node:fs/promises';
import { textMetrics } from '@rdlab/core';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

async function lines(file: string, flag: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new CliError(`${flag}: cannot read '${file}'`);
  });
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

export function registerEvalTextCommand(program: Command): void {
  program
    .command('eval-text')
    .description('text metrics of hypotheses against references, one sentence per line')
    .requiredOption('--hypotheses <file>', 'generated sentences, one per line')
    .requiredOption('--references <file>', 'reference sentences, one per line, same order')
    .option(
      '--json',
      'print {"bleu", "rouge1", "rouge2", "rougeL", "meteor", "distinct1", "distinct2"}',
    )
    .action(async (options: { hypotheses: string; references: string; json?: boolean }) => {
      const [hypotheses, references] = await Promise.all([
        lines(options.hypotheses, '--hypotheses'),
        lines(options.references, '--references'),
      ]);
      if (hypotheses.length !== references.length) {
        throw new CliError(
          `--hypotheses has ${hypotheses.length} lines but --references has ${references.length}: give one reference per hypothesis`,
        );
      }
      if (hypotheses.length === 0) throw new CliError('--hypotheses is empty');
      const m = textMetrics(hypotheses, references);
      if (options.json) {
        console.log(JSON.stringify(m));
        return;
      }
      console.log(`sentences  ${hypotheses.length}`);
      for (const [name, value] of Object.entries(m))
        console.log(`${name.padEnd(10)} ${value.toFixed(4)}`);
      console.log('(METEOR with exact and Porter-stem matching; NLTK also uses WordNet synonyms)');
    });
}
