/**
 * Stage `evaluate`: π generates from held-out prefixes, and the generations are scored.
 *
 * - Acc: β̄ of π's generations under β (§6 "Evaluations": the likelihood of the behaviour model).
 * - Token accuracy (the authors' code): π's arg-max next token against β's samples from the same
 *   prefixes, teacher-forced, over the continuation.
 * - Reward: R's softmax probability of the cell's attribute on π's generations.
 * - BLEU, ROUGE-1/2/L, METEOR, distinct-1/2 against the original sentence (core's text metrics).
 *
 * `trainingMetrics` gives the figures of the authors' Table 1 script
 * (`evaluate_acc_reward_performance.py` over `RLHF_train.py:1119-1160`): token accuracy of π
 * against β's training samples and Reward of π's greedy generations from training prefixes.
 * The authors average them over the last epoch's batches as π moves; rdlab measures them once
 * after each epoch on a fixed-size subset of that epoch's samples.
 *
 * When π tokenizes differently from β (see retokenize.ts), π reads everything in its own ids: it
 * generates from the held-out prefixes re-encoded by its tokenizer, token accuracy compares it
 * with its own ids of β's samples, Acc re-encodes π's continuation for β (after β's own prefix
 * ids), and R reads π's text through R's tokenizer. β̄ and R stay one number per sequence.
 */
import {
  createRng,
  type EvaluationSpec,
  type LikelihoodKind,
  rewardModelScores,
  type SweepSpec,
  textMetrics,
} from '@rdlab/core';
import type { Prefix } from '@rdlab/data';
import {
  generate,
  generatedRows,
  type LanguageModel,
  scoreSequences,
  type TextTokenizer,
} from '@rdlab/ml';
import { type GeneratedRow, generateRows } from './generate-rows.js';
import type { PreparedDataset } from './prepare.js';
import { encodeText, retokenize, type TargetTokens, targetTokensOf } from './retokenize.js';
import { rewardLogits } from './reward-scorer.js';
import type { BehaviorSample } from './shard-file.js';
import { sameTokenizer } from './tokenizers.js';

/** Held-out prefixes and β's samples from them. */
export interface EvalSet {
  prefixes: Prefix[];
  behaviorSamples: BehaviorSample[];
}

export interface EvalExample {
  prefix: string;
  generation: string;
  reference: string;
  acc: number;
  reward: number;
}

export interface EvalResult {
  acc: number;
  reward: number;
  /** Acc + Reward, the paper's Table 1 figure. */
  accPlusReward: number;
  tokenAccuracy: number;
  bleu: number;
  rouge1: number;
  rouge2: number;
  rougeL: number;
  meteor: number;
  distinct1: number;
  distinct2: number;
  /** Per-prefix Acc and Reward, in prefix order (for paired bootstrap intervals). */
  perSample: { acc: number[]; reward: number[] };
  examples: EvalExample[];
}

/** An evaluation without its per-sample arrays: what epoch records and metric points hold. */
export type EvalSummary = Omit<EvalResult, 'perSample' | 'examples'>;

export function summary(result: EvalResult): EvalSummary {
  const { perSample: _p, examples: _e, ...rest } = result;
  return rest;
}

/** The authors'-style figures of one epoch (see the module comment). */
export interface TrainingMetrics {
  tokenAccuracy: number;
  reward: number;
  accPlusReward: number;
}

const CHUNK = 64;

/**
 * Arg-max agreement of π with β's samples over each continuation: β's tokens, or π's own ids of
 * them (`TargetTokens`) when the tokenizers differ.
 */
function tokenAccuracy(target: LanguageModel, samples: TargetTokens[], eosId: number): number {
  let hits = 0;
  let total = 0;
  const V = target.config.vocab_size;
  for (let start = 0; start < samples.length; start += CHUNK) {
    const chunk = samples.slice(start, start + CHUNK);
    // π's re-encoded samples may outrun its positions: it is scored on what fits.
    const T = Math.min(target.config.n_positions, Math.max(...chunk.map((s) => s.tokens.length)));
    const ids = new Int32Array(chunk.length * T).fill(eosId);
    chunk.forEach((s, b) => {
      ids.set(s.tokens.subarray(0, T), b * T);
    });
    const logits = target.logits({ ids, batchSize: chunk.length, length: T });
    chunk.forEach((s, b) => {
      for (let t = s.prefixLength; t < Math.min(T, s.tokens.length); t++) {
        const row = (b * T + t - 1) * V;
        let best = 0;
        for (let v = 1; v < V; v++)
          if ((logits[row + v] as number) > (logits[row + best] as number)) best = v;
        if (best === s.tokens[t]) hits += 1;
        total += 1;
      }
    });
  }
  return total === 0 ? 0 : hits / total;
}

/** R's scores of `attribute` on π's rows, made by π's `tokenizer` (R reads them its way). */
function rewardOfRows(
  prepared: PreparedDataset,
  rows: GeneratedRow[],
  tokenizer: TextTokenizer,
  attributeIndex: number,
): Float64Array {
  return rewardModelScores(
    rewardLogits(
      prepared,
      rows.map((r) => r.words),
      tokenizer,
    ),
    prepared.reward.numClasses,
    attributeIndex,
    'probability',
  );
}

/**
 * β's ids of π's rows for Acc: β's own prefix ids, then π's continuation decoded and re-encoded
 * by β (an end-of-text π wrote becomes β's; an empty one scores β's end-of-text), masked.
 */
function behaviorBatchOf(
  rows: GeneratedRow[],
  prefixes: ArrayLike<number>[],
  from: TextTokenizer,
  to: TextTokenizer,
  nPositions: number,
): { ids: Int32Array; mask: Float32Array } {
  const seqs = rows.map((row, b) => {
    const continuation = row.tokens.subarray(row.prefixLength);
    const ended = continuation.length > 0 && continuation[continuation.length - 1] === from.eosId;
    const text = from.decode(ended ? continuation.subarray(0, -1) : continuation);
    const rest = encodeText(to, text, false);
    if (ended || rest.length === 0) rest.push(to.eosId);
    const prefix = Array.from(prefixes[b] as ArrayLike<number>);
    return { tokens: [...prefix, ...rest].slice(0, nPositions), p: prefix.length };
  });
  const T = Math.max(...seqs.map((s) => s.tokens.length));
  const ids = new Int32Array(rows.length * T).fill(to.eosId);
  const mask = new Float32Array(rows.length * T);
  seqs.forEach((s, b) => {
    ids.set(s.tokens, b * T);
    for (let t = s.p; t < s.tokens.length; t++) mask[b * T + t] = 1;
  });
  return { ids, mask };
}

/** R's probability of `attributeIndex` on π's greedy continuations of `prefixes` `[B, p]`. */
function greedyReward(
  target: LanguageModel,
  prepared: PreparedDataset,
  prefixes: Int32Array,
  B: number,
  attributeIndex: number,
  spec: SweepSpec,
): Float64Array {
  const { tokenizer, reward } = prepared;
  const gen = generate(target, prefixes, B, {
    maxLength: spec.training.maxLength,
    temperature: 0,
    eosId: tokenizer.eosId,
    rng: createRng(0, 'greedy'),
  });
  const words = generatedRows(gen, tokenizer.eosId).map((r) => r.words);
  return rewardModelScores(
    rewardLogits(prepared, words),
    reward.numClasses,
    attributeIndex,
    'probability',
  );
}

/**
 * The authors'-style figures on up to `evaluation.trainingSamples` of an epoch's training
 * samples, chosen by `pair` and the epoch so that paired cells are measured on the same ones.
 */
export function trainingMetrics(
  target: LanguageModel,
  prepared: PreparedDataset,
  samples: BehaviorSample[],
  attribute: string,
  spec: SweepSpec,
  pair: string,
  epoch: number,
  tokenizer: TextTokenizer = prepared.tokenizer,
  targetTokens: ReadonlyMap<BehaviorSample, TargetTokens> | null = null,
): TrainingMetrics | null {
  const n = Math.min(spec.evaluation.trainingSamples, samples.length);
  if (n === 0) return null;
  const chosen = createRng(0, 'training-metrics', pair, epoch)
    .choose(samples.length, n)
    .map((i) => samples[i] as BehaviorSample);
  const p = spec.training.prefixLength;
  const attributeIndex = prepared.classes.indexOf(attribute);
  if (targetTokens) {
    // π's own ids of β's samples: its prefixes for the greedy generations, its tokens for accuracy.
    const own = chosen.map(
      (s) => targetTokens.get(s) ?? retokenize(s, prepared.tokenizer, tokenizer),
    );
    const rows = generateRows(
      target,
      own.map((t) => t.tokens.subarray(0, t.prefixLength)),
      {
        maxLength: spec.training.maxLength,
        temperature: 0,
        eosId: tokenizer.eosId,
        rng: createRng(0, 'greedy'),
      },
    );
    const rewards = rewardOfRows(prepared, rows, tokenizer, attributeIndex);
    const meanReward = rewards.reduce((a, b) => a + b, 0) / n;
    const tokenAcc = tokenAccuracy(target, own, tokenizer.eosId);
    return { tokenAccuracy: tokenAcc, reward: meanReward, accPlusReward: tokenAcc + meanReward };
  }
  let rewardSum = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const chunk = chosen.slice(start, start + CHUNK);
    const ids = new Int32Array(chunk.length * p);
    chunk.forEach((s, b) => {
      ids.set(s.tokens.subarray(0, p), b * p);
    });
    for (const r of greedyReward(target, prepared, ids, chunk.length, attributeIndex, spec))
      rewardSum += r;
  }
  const tokenAcc = tokenAccuracy(target, chosen, prepared.tokenizer.eosId);
  return {
    tokenAccuracy: tokenAcc,
    reward: rewardSum / n,
    accPlusReward: tokenAcc + rewardSum / n,
  };
}

/**
 * What both evaluation paths gather per prefix — Acc, Reward, the texts for BLEU/ROUGE/METEOR
 * and the first examples — and the result they make of it.
 */
function evalCollector(exampleCount: number) {
  const perAcc: number[] = [];
  const perReward: number[] = [];
  const hypotheses: string[] = [];
  const references: string[] = [];
  const examples: EvalExample[] = [];
  return {
    add(example: EvalExample): void {
      perAcc.push(example.acc);
      perReward.push(example.reward);
      hypotheses.push(example.generation);
      references.push(example.reference);
      if (examples.length < exampleCount) examples.push(example);
    },
    result(tokenAccuracy: number): EvalResult {
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const accMean = mean(perAcc);
      const rewardMean = mean(perReward);
      return {
        acc: accMean,
        reward: rewardMean,
        accPlusReward: accMean + rewardMean,
        tokenAccuracy,
        ...textMetrics(hypotheses, references),
        perSample: { acc: perAcc, reward: perReward },
        examples,
      };
    },
  };
}

export function evaluateTarget(
  target: LanguageModel,
  prepared: PreparedDataset,
  evalSet: EvalSet,
  attribute: string,
  spec: SweepSpec,
  seed: number,
  targetTokenizer: TextTokenizer = prepared.tokenizer,
): EvalResult {
  const { tokenizer, behavior, reward } = prepared;
  const evaluation: EvaluationSpec = spec.evaluation;
  if (!sameTokenizer(targetTokenizer, tokenizer))
    return evaluateCrossTokenizer(
      target,
      prepared,
      evalSet,
      attribute,
      spec,
      seed,
      targetTokenizer,
    );
  const likelihood: LikelihoodKind = spec.training.likelihood;
  const { prefixLength: p, maxLength: T } = spec.training;
  const attributeIndex = prepared.classes.indexOf(attribute);
  const collected = evalCollector(evaluation.examples);
  for (let start = 0; start < evalSet.prefixes.length; start += CHUNK) {
    const chunk = evalSet.prefixes.slice(start, start + CHUNK);
    const B = chunk.length;
    const ids = new Int32Array(B * p);
    chunk.forEach((prefix, b) => {
      ids.set(prefix.ids, b * p);
    });
    const gen = generate(target, ids, B, {
      maxLength: T,
      temperature: evaluation.decoding === 'greedy' ? 0 : evaluation.temperature,
      eosId: tokenizer.eosId,
      rng: createRng(seed, 'eval', start),
    });
    // Acc: β's likelihood of what π wrote.
    const acc = scoreSequences(behavior, gen.ids, gen.mask, B, likelihood);
    const words = generatedRows(gen, tokenizer.eosId).map((r) => r.words);
    const logits = rewardLogits(prepared, words);
    const r = rewardModelScores(logits, reward.numClasses, attributeIndex, 'probability');
    chunk.forEach((prefix, b) => {
      collected.add({
        prefix: tokenizer.decode(prefix.ids).trim(),
        generation: tokenizer.decode(words[b] as Int32Array).trim(),
        reference: tokenizer.decode(prefix.sentenceIds).trim(),
        acc: acc[b] as number,
        reward: r[b] as number,
      });
    });
  }
  return collected.result(tokenAccuracy(target, evalSet.behaviorSamples, tokenizer.eosId));
}

/** {@link evaluateTarget} for a π whose tokenizer is not β's (see the module comment). */
function evaluateCrossTokenizer(
  target: LanguageModel,
  prepared: PreparedDataset,
  evalSet: EvalSet,
  attribute: string,
  spec: SweepSpec,
  seed: number,
  targetTokenizer: TextTokenizer,
): EvalResult {
  const { tokenizer, behavior } = prepared;
  const evaluation: EvaluationSpec = spec.evaluation;
  const attributeIndex = prepared.classes.indexOf(attribute);
  const collected = evalCollector(evaluation.examples);
  for (let start = 0; start < evalSet.prefixes.length; start += CHUNK) {
    const chunk = evalSet.prefixes.slice(start, start + CHUNK);
    // π's prefixes: β's prefix text in π's ids, as `retokenize` encodes a sample's prefix.
    const own = chunk.map((prefix) => encodeText(targetTokenizer, tokenizer.decode(prefix.ids)));
    const rows = generateRows(target, own, {
      maxLength: spec.training.maxLength,
      temperature: evaluation.decoding === 'greedy' ? 0 : evaluation.temperature,
      eosId: targetTokenizer.eosId,
      rng: createRng(seed, 'eval', start),
    });
    // Acc: β's likelihood of what π wrote, in β's ids.
    const { ids, mask } = behaviorBatchOf(
      rows,
      chunk.map((prefix) => prefix.ids),
      targetTokenizer,
      tokenizer,
      behavior.config.n_positions,
    );
    const acc = scoreSequences(behavior, ids, mask, chunk.length, spec.training.likelihood);
    const r = rewardOfRows(prepared, rows, targetTokenizer, attributeIndex);
    chunk.forEach((prefix, b) => {
      collected.add({
        prefix: tokenizer.decode(prefix.ids).trim(),
        generation: targetTokenizer.decode((rows[b] as GeneratedRow).words).trim(),
        reference: tokenizer.decode(prefix.sentenceIds).trim(),
        acc: acc[b] as number,
        reward: r[b] as number,
      });
    });
  }
  const own = targetTokensOf(evalSet.behaviorSamples, tokenizer, targetTokenizer);
  return collected.result(
    tokenAccuracy(
      target,
      evalSet.behaviorSamples.map((s) => own?.get(s) ?? s),
      targetTokenizer.eosId,
    ),
  );
}
