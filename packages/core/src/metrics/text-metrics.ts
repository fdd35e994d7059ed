/**
 * Text metrics of §7.3 (Tables 3 and 4), computed as the authors' tools compute them:
 *
 * - BLEU: NLTK `sentence_bleu` with uniform 4-gram weights and `SmoothingFunction().method4`,
 *   on whitespace tokens, averaged over sentences.
 * - ROUGE-1/2/L F1: the `rouge-score` package with its stemmer: lower-case, non-alphanumerics to
 *   spaces, Porter stems of tokens longer than 3 characters.
 * - METEOR: NLTK `meteor_score` (α = 0.9, β = 3, γ = 0.5) with its exact and Porter-stem
 *   matching modules. NLTK's third module, WordNet synonyms, needs the WordNet corpus, which rdlab
 *   does not ship: scores can be lower than NLTK's where synonyms would have matched.
 * - distinct-n (Li et al., 2016): distinct n-grams over all n-grams of all generations.
 */
import { porterStem } from './porter.js';

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0001');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/**
 * NLTK `sentence_bleu(references, hypothesis, weights, smoothing_function)` with method4 smoothing
 * (Chen & Cherry, 2014; k = 5) or none. Returns 0 where NLTK would (no unigram match, empty
 * hypothesis) and for one-token hypotheses, on which NLTK's method4 fails with log(0).
 */
export function sentenceBleu(
  references: ReadonlyArray<readonly string[]>,
  hypothesis: readonly string[],
  options: { weights?: number[]; smoothing?: 'method4' | 'none' } = {},
): number {
  const weights = options.weights ?? [0.25, 0.25, 0.25, 0.25];
  const numerators: number[] = [];
  const denominators: number[] = [];
  weights.forEach((_, i) => {
    const n = i + 1;
    const counts = ngramCounts(hypothesis, n);
    const maxRef = new Map<string, number>();
    for (const ref of references) {
      const rc = ngramCounts(ref, n);
      for (const key of counts.keys())
        maxRef.set(key, Math.max(maxRef.get(key) ?? 0, rc.get(key) ?? 0));
    }
    let clipped = 0;
    let total = 0;
    for (const [key, c] of counts) {
      clipped += Math.min(c, maxRef.get(key) ?? 0);
      total += c;
    }
    numerators.push(clipped);
    denominators.push(Math.max(1, total));
  });
  if (numerators[0] === 0) return 0;
  const hypLen = hypothesis.length;
  // Closest reference length, the shorter on a tie; brevity penalty as Papineni et al. (2002).
  let closest = Number.POSITIVE_INFINITY;
  for (const ref of references) {
    const d = Math.abs(ref.length - hypLen);
    const best = Math.abs(closest - hypLen);
    if (d < best || (d === best && ref.length < closest)) closest = ref.length;
  }
  const bp = hypLen > closest ? 1 : hypLen === 0 ? 0 : Math.exp(1 - closest / hypLen);
  const precisions = numerators.map((num, i) => num / (denominators[i] as number));
  if (options.smoothing !== 'none') {
    let k = 1;
    for (let i = 0; i < precisions.length; i++) {
      if (numerators[i] === 0 && hypLen > 1) {
        // method4: 1 / (2^k · K / ln(len(hypothesis))), K = 5, over the n-gram count.
        precisions[i] = 1 / ((2 ** k * 5) / Math.log(hypLen)) / (denominators[i] as number);
        k += 1;
      }
    }
  }
  if (precisions.some((p) => p === 0)) return 0;
  let sum = 0;
  weights.forEach((w, i) => {
    sum += w * Math.log(precisions[i] as number);
  });
  return bp * Math.exp(sum);
}

/** rouge-score's tokenizer with its stemmer. */
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .map((t) => (t.length > 3 ? porterStem(t) : t))
    .filter((t) => /^[a-z0-9]+$/.test(t));
}

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

function score(overlap: number, predicted: number, target: number): RougeScore {
  const precision = overlap / Math.max(predicted, 1);
  const recall = overlap / Math.max(target, 1);
  return {
    precision,
    recall,
    fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
  };
}

/** ROUGE-N of a prediction against one target (rouge-score's `_score_ngrams`). */
export function rougeN(target: string, prediction: string, n: number): RougeScore {
  const t = ngramCounts(rougeTokens(target), n);
  const p = ngramCounts(rougeTokens(prediction), n);
  let overlap = 0;
  for (const [key, c] of p) overlap += Math.min(c, t.get(key) ?? 0);
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return score(overlap, total(p), total(t));
}

/** ROUGE-L: longest common subsequence of the token lists. */
export function rougeL(target: string, prediction: string): RougeScore {
  const t = rougeTokens(target);
  const p = rougeTokens(prediction);
  const row = new Array<number>(p.length + 1).fill(0);
  for (let i = 1; i <= t.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= p.length; j++) {
      const above = row[j] as number;
      row[j] = t[i - 1] === p[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1] as number);
      diagonal = above;
    }
  }
  return score(row[p.length] as number, p.length, t.length);
}

/** NLTK's word alignment: exact matches, then Porter-stem matches, scanning both lists from the end. */
function align(hypothesis: string[], reference: string[]): Array<[number, number]> {
  let hyp = hypothesis.map((w, i) => [i, w] as [number, string]);
  let ref = reference.map((w, i) => [i, w] as [number, string]);
  const matches: Array<[number, number]> = [];
  const matchEnums = (h: Array<[number, string]>, r: Array<[number, string]>) => {
    for (let i = h.length - 1; i >= 0; i--) {
      for (let j = r.length - 1; j >= 0; j--) {
        if ((h[i] as [number, string])[1] === (r[j] as [number, string])[1]) {
          matches.push([(h[i] as [number, string])[0], (r[j] as [number, string])[0]]);
          h.splice(i, 1);
          r.splice(j, 1);
          break;
        }
      }
    }
  };
  matchEnums(hyp, ref);
  hyp = hyp.map(([i, w]) => [i, porterStem(w)]);
  ref = ref.map(([i, w]) => [i, porterStem(w)]);
  matchEnums(hyp, ref);
  return matches.sort((a, b) => a[0] - b[0]);
}

/** NLTK `single_meteor_score(reference, hypothesis)` with exact + stem modules. */
export function meteor(
  reference: string,
  hypothesis: string,
  alpha = 0.9,
  beta = 3,
  gamma = 0.5,
): number {
  const hyp = hypothesis.toLowerCase().split(/\s+/).filter(Boolean);
  const ref = reference.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = align(hyp, ref);
  const m = matches.length;
  if (m === 0 || hyp.length === 0 || ref.length === 0) return 0;
  const precision = m / hyp.length;
  const recall = m / ref.length;
  const fmean = (precision * recall) / (alpha * precision + (1 - alpha) * recall);
  let chunks = 1;
  for (let i = 0; i < m - 1; i++) {
    const a = matches[i] as [number, number];
    const b = matches[i + 1] as [number, number];
    if (!(b[0] === a[0] + 1 && b[1] === a[1] + 1)) chunks += 1;
  }
  const penalty = gamma * (chunks / m) ** beta;
  return (1 - penalty) * fmean;
}

/** distinct-n over a set of generations (whitespace tokens). */
export function distinctN(texts: readonly string[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const tokens = text.split(/\s+/).filter(Boolean);
    for (let i = 0; i + n <= tokens.length; i++) {
      seen.add(tokens.slice(i, i + n).join('\u0001'));
      total += 1;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}

export interface TextMetrics {
  bleu: number;
  rouge1: number;
  rouge2: number;
  rougeL: number;
  meteor: number;
  distinct1: number;
  distinct2: number;
}

/** Every metric, averaged over sentence pairs (BLEU, ROUGE, METEOR) or over the corpus (distinct). */
export function textMetrics(
  hypotheses: readonly string[],
  references: readonly string[],
): TextMetrics {
  if (hypotheses.length !== references.length) {
    throw new RangeError(
      `textMetrics: ${hypotheses.length} hypotheses but ${references.length} references; give one reference per hypothesis`,
    );
  }
  const n = hypotheses.length;
  let bleu = 0;
  let r1 = 0;
  let r2 = 0;
  let rl = 0;
  let met = 0;
  for (let i = 0; i < n; i++) {
    const h = hypotheses[i] as string;
    const r = references[i] as string;
    bleu += sentenceBleu([r.split(/\s+/).filter(Boolean)], h.split(/\s+/).filter(Boolean));
    r1 += rougeN(r, h, 1).fmeasure;
    r2 += rougeN(r, h, 2).fmeasure;
    rl += rougeL(r, h).fmeasure;
    met += meteor(r, h);
  }
  const mean = (x: number) => (n === 0 ? 0 : x / n);
  return {
    bleu: mean(bleu),
    rouge1: mean(r1),
    rouge2: mean(r2),
    rougeL: mean(rl),
    meteor: mean(met),
    distinct1: distinctN(hypotheses, 1),
    distinct2: distinctN(hypotheses, 2),
  };
}
