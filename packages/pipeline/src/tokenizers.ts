/**
 * Which tokenizer reads what. β's: a checkpoint's `tokenizer.json` through `loadHfTokenizer` (so
 * OPT's `</s>` prepend and XGLM's Unigram apply), an in-house `vocab.json` + `merges.txt` as
 * before. Each target π reads its checkpoint's own tokenizer when it has one, else β's; two
 * tokenizers are the same when their identities are (shards record the identity too).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Cell, resolveTarget, type SweepSpec } from '@rdlab/core';
import { BpeTokenizer, loadHfTokenizer, type TextTokenizer, TOKENIZER_FILE } from '@rdlab/ml';
import { checkpointPath } from './local-files.js';
import type { StageContext } from './ports.js';
import { tokenizerIdentity } from './retokenize.js';

/** A checkpoint folder's tokenizer, or null when it has none. */
export async function loadCheckpointTokenizer(dir: string): Promise<TextTokenizer | null> {
  if (existsSync(join(dir, TOKENIZER_FILE))) return loadHfTokenizer(dir);
  if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt')))
    return BpeTokenizer.load(dir);
  return null;
}

/** Whether `a` and `b` give the same ids for the same text (the same object or identity). */
export function sameTokenizer(a: TextTokenizer, b: TextTokenizer): boolean {
  return a === b || tokenizerIdentity(a) === tokenizerIdentity(b);
}

/** π's tokenizer for `cell`: its checkpoint's own, else β's (the same object). */
export async function targetTokenizer(
  ctx: StageContext,
  spec: SweepSpec,
  behaviorTokenizer: TextTokenizer,
  cell: Cell,
): Promise<TextTokenizer> {
  const target = spec.targets
    .map((t) => resolveTarget(t, spec.behavior.model))
    .find((t) => t.name === cell.target);
  const checkpoint = target?.init === 'pretrained' ? target.model.checkpoint : undefined;
  if (!checkpoint) return behaviorTokenizer;
  const own = await loadCheckpointTokenizer(checkpointPath(ctx, checkpoint));
  if (!own || sameTokenizer(own, behaviorTokenizer)) return behaviorTokenizer;
  return own;
}
