/**
 * `rdlab model classify`: a BERT reward model's logits for token-id sequences, batched together
 * with right padding, to check rdlab's BertForSequenceClassification against other tools
 * (`../shared/fixtures/tiny-bert` holds one reference).
 */
import { type BertClassifier, initBackend, loadBertClassifier } from '@rdlab/ml';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

export interface ModelClassifyOptions {
  model: string;
  ids: string[];
  backend?: string;
  json?: boolean;
}

/** One `--ids` value: comma-separated integers ≥ 0. */
export function parseIdRow(text: string): number[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((s) => !/^\d+$/.test(s)))
    throw new CliError(
      `--ids must be comma-separated integer token ids, such as 2,17,3; got '${text}'`,
    );
  return ids.map(Number);
}

/** The rows right-padded with `pad_token_id` (attention mask 0 there), checked against the model. */
export function classifyBatch(model: BertClassifier, rows: number[][]) {
  const { vocab_size: V, max_position_embeddings: P, pad_token_id: pad } = model.config;
  rows.forEach((row, i) => {
    const bad = row.find((id) => id >= V);
    if (bad !== undefined)
      throw new CliError(`--ids (row ${i + 1}): token ${bad} is outside the vocabulary of ${V}`);
    if (row.length > P)
      throw new CliError(
        `--ids (row ${i + 1}): ${row.length} tokens exceed max_position_embeddings ${P}`,
      );
  });
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * T).fill(pad);
  rows.forEach((row, b) => {
    ids.set(row, b * T);
  });
  return {
    batch: { ids, batchSize: rows.length, length: T },
    lengths: Int32Array.from(rows, (r) => r.length),
  };
}

export async function modelClassify(
  options: ModelClassifyOptions,
): Promise<{ logits: number[][]; labels: string[]; backend: string }> {
  if (options.ids.length === 0)
    throw new CliError('--ids: give at least one row of token ids, such as --ids 2,17,3');
  const rows = options.ids.map(parseIdRow);
  await initBackend(options.backend, () => {});
  const { classifier } = await loadBertClassifier(options.model, { frozen: true }).catch(
    (error: Error) => {
      throw new CliError(`--model: ${error.message}`);
    },
  );
  try {
    const { batch, lengths } = classifyBatch(classifier, rows);
    const flat = classifier.logits(batch, lengths);
    const K = classifier.numClasses;
    return {
      logits: rows.map((_, b) => Array.from(flat.subarray(b * K, (b + 1) * K))),
      labels: classifier.config.labels,
      backend: classifier.backend,
    };
  } finally {
    classifier.dispose();
  }
}

export function registerModelClassifyCommand(model: Command): void {
  model
    .command('classify')
    .description(
      'a BERT sequence classifier’s logits, one row per --ids, batched with right padding',
    )
    .requiredOption(
      '--model <dir>',
      'a BertForSequenceClassification checkpoint (config.json + model.safetensors; folder, s3:// or https://)',
    )
    .option(
      '--ids <ids>',
      'comma-separated token ids of one sequence, e.g. 2,17,3 (repeat for more rows)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--backend <name>',
      'compute backend (default: RDLAB_BACKEND or the fastest that loads)',
    )
    .option('--json', 'print {"logits": [[…], …]}')
    .action(async (options: ModelClassifyOptions) => {
      const out = await modelClassify(options);
      if (options.json) {
        console.log(JSON.stringify({ logits: out.logits }));
        return;
      }
      console.log(out.labels.map((l) => l.padStart(12)).join(' '));
      for (const row of out.logits)
        console.log(row.map((x) => x.toFixed(6).padStart(12)).join(' '));
    });
}
