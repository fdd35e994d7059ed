/**
 * β's samples in π's tokens, when β and π tokenize differently: the authors decode β's samples
 * to text (`prepare_trajectories.py`) and `RLHF_train.py` re-encodes them with π's tokenizer.
 * Prefix and continuation are decoded and re-encoded apart, so π's mask covers exactly the
 * continuation's tokens: the prefix with π's post-processor tokens (OPT's and XGLM's leading
 * `</s>`, as `tokenizer(text)` gives them), the continuation without; an end-of-text β drew
 * becomes π's end-of-text. β̄ and R stay one number
 * per sequence, computed from β's own tokens (see `batchOf`).
 */
import { createHash } from 'node:crypto';
import { BpeTokenizer, HfTokenizer, type TextTokenizer } from '@rdlab/ml';
import type { BehaviorSample } from './shard-file.js';

/** A sample's token ids for π: prefix then continuation, `prefixLength` of them the prefix. */
export interface TargetTokens {
  tokens: Int32Array;
  prefixLength: number;
}

/**
 * A tokenizer's identity, recorded in shards: an HfTokenizer's `identity` (SHA-256 of its files),
 * the in-house BPE's SHA-256 of its vocabulary and merges.
 */
export function tokenizerIdentity(tokenizer: TextTokenizer): string {
  if (tokenizer instanceof HfTokenizer) return tokenizer.identity;
  if (tokenizer instanceof BpeTokenizer) {
    // Hashing the vocabulary is not free, and evaluation asks once per chunk: once per object.
    let identity = bpeIdentities.get(tokenizer);
    if (identity === undefined) {
      identity = createHash('sha256').update(JSON.stringify(tokenizer.toJSON())).digest('hex');
      bpeIdentities.set(tokenizer, identity);
    }
    return identity;
  }
  throw new Error('tokenizerIdentity: an HfTokenizer or a BpeTokenizer is needed');
}

const bpeIdentities = new WeakMap<BpeTokenizer, string>();

/**
 * `text` in `tokenizer`'s ids. `specialTokens: false` leaves out the post-processor's tokens (OPT's
 * leading `</s>`): for a continuation, which follows a prefix that has them.
 */
export function encodeText(tokenizer: TextTokenizer, text: string, specialTokens = true): number[] {
  return tokenizer instanceof HfTokenizer
    ? tokenizer.encode(text, { addSpecialTokens: specialTokens })
    : tokenizer.encode(text);
}

/** One β sample re-encoded by π's tokenizer (see the module comment). */
export function retokenize(
  sample: Pick<BehaviorSample, 'tokens' | 'prefixLength'>,
  from: TextTokenizer,
  to: TextTokenizer,
): TargetTokens {
  const p = sample.prefixLength;
  const continuation = sample.tokens.subarray(p);
  const ended = continuation.length > 0 && continuation[continuation.length - 1] === from.eosId;
  const prefixText = from.decode(sample.tokens.subarray(0, p));
  const continuationText = from.decode(ended ? continuation.subarray(0, -1) : continuation);
  const prefix = encodeText(to, prefixText);
  const rest = encodeText(to, continuationText, false);
  if (ended) rest.push(to.eosId);
  return { tokens: Int32Array.from([...prefix, ...rest]), prefixLength: prefix.length };
}

/**
 * π's tokens for every sample: the samples' own when π reads β's tokenizer (same identity), else
 * each re-encoded, cut to `maxTokens` (π's positions: a re-encoding may be longer than β's
 * `maxLength`, and the authors' tokenizer call truncates too). Returns null in the first case, so
 * callers keep today's path untouched.
 */
export function targetTokensOf(
  samples: readonly BehaviorSample[],
  from: TextTokenizer,
  to: TextTokenizer,
  maxTokens = Number.POSITIVE_INFINITY,
): Map<BehaviorSample, TargetTokens> | null {
  if (from === to || tokenizerIdentity(from) === tokenizerIdentity(to)) return null;
  return new Map(
    samples.map((s) => {
      const own = retokenize(s, from, to);
      if (own.tokens.length <= maxTokens) return [s, own];
      return [s, { tokens: own.tokens.slice(0, maxTokens), prefixLength: own.prefixLength }];
    }),
  );
}
