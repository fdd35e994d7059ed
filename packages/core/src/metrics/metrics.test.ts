import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { porterStem } from './porter.js';
import { distinctN, meteor, rougeL, rougeN, sentenceBleu, textMetrics } from './text-metrics.js';

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

// NLTK's bleu_score docstring example (Papineni et al. 2002).
const hyp1 =
  'It is a guide to action which ensures that the military always obeys the commands of the party'.split(
    ' ',
  );
const ref1 =
  'It is a guide to action that ensures that the military will forever heed Party commands'.split(
    ' ',
  );
const ref2 =
  'It is the guiding principle which guarantees the military forces always being under the command of the Party'.split(
    ' ',
  );
const ref3 =
  'It is the practical guide for the army always to heed the directions of the party'.split(' ');

describe('BLEU (NLTK sentence_bleu)', () => {
  it("reproduces NLTK's worked example: 0.5045666840058485", () => {
    close(sentenceBleu([ref1, ref2, ref3], hyp1, { smoothing: 'none' }), 0.5045666840058485, 1e-12);
    close(sentenceBleu([ref1, ref2, ref3], hyp1), 0.5045666840058485, 1e-12); // method4 changes nothing without zero counts
  });

  it('smooths zero n-gram counts with method4: ln(len)/(2^k·5) over the count', () => {
    // hypothesis 'the cat sat', reference 'the cat is here': p1 = 2/3, p2 = 1/2, p3 = p4 = 0 →
    // ln 3/10 and ln 3/20; BP = exp(1 − 4/3).
    close(
      sentenceBleu([['the', 'cat', 'is', 'here']], ['the', 'cat', 'sat']),
      0.15174681566793558,
      1e-12,
    );
    assert.equal(
      sentenceBleu([['the', 'cat', 'is', 'here']], ['the', 'cat', 'sat'], { smoothing: 'none' }),
      0,
    );
  });

  it('is 0 without a unigram match, for an empty hypothesis and for one token', () => {
    assert.equal(sentenceBleu([['a', 'b']], ['c', 'd']), 0);
    assert.equal(sentenceBleu([['a', 'b']], []), 0);
    assert.equal(sentenceBleu([['a', 'b']], ['a']), 0);
  });
});

describe('ROUGE (rouge-score with stemming)', () => {
  // The rouge-score README example.
  const target = 'The quick brown fox jumps over the lazy dog';
  const prediction = 'The quick brown dog jumps on the log.';

  it("reproduces the package's worked example for ROUGE-1 and ROUGE-L", () => {
    const r1 = rougeN(target, prediction, 1);
    close(r1.precision, 0.75);
    close(r1.recall, 0.6666666666666666);
    close(r1.fmeasure, 0.7058823529411765);
    const rl = rougeL(target, prediction);
    close(rl.precision, 0.625);
    close(rl.recall, 0.5555555555555556);
    close(rl.fmeasure, 0.5882352941176471);
  });

  it('counts bigram overlap for ROUGE-2', () => {
    // bigrams shared: 'the quick', 'quick brown' → P = 2/7, R = 2/8
    const r2 = rougeN(target, prediction, 2);
    close(r2.precision, 2 / 7);
    close(r2.recall, 2 / 8);
  });
});

describe('Porter stemmer (NLTK extensions)', () => {
  it('stems as NLTK does', () => {
    const cases: Record<string, string> = {
      caresses: 'caress',
      ponies: 'poni',
      ties: 'tie',
      cats: 'cat',
      feed: 'feed',
      agreed: 'agre',
      plastered: 'plaster',
      motoring: 'motor',
      sing: 'sing',
      hopping: 'hop',
      falling: 'fall',
      filing: 'file',
      happy: 'happi',
      enjoy: 'enjoy',
      relational: 'relat',
      conditional: 'condit',
      generously: 'gener',
      dying: 'die',
      skies: 'sky',
      flies: 'fli',
      dies: 'die',
      lazy: 'lazi',
      jumps: 'jump',
      meetings: 'meet',
      hopeful: 'hope',
      electrical: 'electr',
      controlling: 'control',
      geology: 'geolog',
      constructor: 'constructor',
    };
    for (const [word, stem] of Object.entries(cases)) assert.equal(porterStem(word), stem, word);
  });
});

describe('METEOR (NLTK, exact + stem modules)', () => {
  it("reproduces NLTK's test case: 'THIS Is a tEST' against 'this is a test' scores 0.9921875", () => {
    // P = R = 1, one chunk of 4 matches: (1 − 0.5·(1/4)³) · 1
    assert.equal(meteor('this is a test', 'THIS Is a tEST'), 0.9921875);
  });

  it('matches Porter stems after exact words: the dogs ran / the dog ran = 1 − 0.5·(1/3)³', () => {
    close(meteor('the dog ran', 'the dogs ran'), 1 - 0.5 / 27);
  });

  it('scores below NLTK where only WordNet synonyms would match (0.6944 here, NLTK 0.7398)', () => {
    // NLTK's docstring example: its WordNet module also aligns words this implementation leaves unmatched.
    close(Number(meteor(ref1.join(' '), hyp1.join(' ')).toFixed(4)), 0.6944, 0);
  });

  it('is 0 without any match', () => {
    assert.equal(meteor('this is a cat', 'non matching hypothesis'), 0);
  });

  it('matches stems the exact module misses', () => {
    assert.ok(
      meteor('the dogs were running', 'the dog was run') >
        meteor('the dogs were running', 'the cat was sleep'),
    );
  });
});

describe('distinct-n and the averaged set', () => {
  it('counts distinct n-grams over all n-grams', () => {
    close(distinctN(['a b a', 'a c'], 1), 3 / 5);
    close(distinctN(['a b a', 'a b'], 2), 2 / 3);
  });

  it('averages sentence scores and refuses mismatched lists', () => {
    const m = textMetrics([hyp1.join(' '), 'x y'], [ref1.join(' '), 'p q']);
    close(m.bleu, sentenceBleu([ref1], hyp1) / 2);
    assert.throws(() => textMetrics(['a'], []), /one reference per hypothesis/);
  });
});
