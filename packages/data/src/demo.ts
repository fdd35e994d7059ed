/**
 * `builtin:demo`: a small synthetic sentiment corpus, generated deterministically by rdlab so the
 * demo runs anywhere in minutes. It is not real data. Sentences come from a handful of templates
 * over restaurant nouns and polar adjectives, with intensifiers, mixed-polarity clauses (so the
 * reward model has something to get wrong) and neutral sentences labelled at random (like the
 * neutral reviews the paper's footnote 8 blames for noise on Yelp).
 */
import { createRng, type Rng } from '@rdlab/core';
import type { TextRecord } from './formats.js';

const NOUNS = [
  'food',
  'service',
  'staff',
  'pizza',
  'coffee',
  'waiter',
  'menu',
  'place',
  'burger',
  'salad',
  'music',
  'price',
  'room',
  'bar',
  'soup',
  'dessert',
];
const POSITIVE = [
  'great',
  'amazing',
  'delicious',
  'friendly',
  'excellent',
  'fresh',
  'wonderful',
  'perfect',
  'lovely',
  'good',
  'tasty',
  'fantastic',
];
const NEGATIVE = [
  'terrible',
  'awful',
  'cold',
  'rude',
  'bland',
  'horrible',
  'dirty',
  'slow',
  'bad',
  'stale',
  'greasy',
  'disgusting',
];
const NEUTRAL = ['okay', 'fine', 'average', 'normal', 'small', 'busy', 'quiet', 'new'];
const INTENSIFIERS = ['', '', '', 'very ', 'really ', 'so ', 'pretty ', 'quite '];
const VERBS = {
  positive: ['loved', 'enjoyed', 'liked', 'adored'],
  negative: ['hated', 'disliked', 'regretted', 'avoided'],
};
const ENDINGS = {
  positive: [
    'we will definitely come back .',
    'i would recommend it to anyone .',
    'five stars .',
    'best meal in town .',
  ],
  negative: [
    'we will never come back .',
    'i would not recommend it .',
    'avoid this place .',
    'worst meal in town .',
  ],
};

type Polarity = 'positive' | 'negative';

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)] as T;
}

function adjective(rng: Rng, polarity: Polarity): string {
  return pick(rng, INTENSIFIERS) + pick(rng, polarity === 'positive' ? POSITIVE : NEGATIVE);
}

/**
 * Every sentence opens with a neutral clause, so its first few tokens (the prefix β continues)
 * say nothing about its sentiment: the attribute is decided by what β samples after it.
 */
const OPENERS = [
  'we went there for lunch and',
  'i came here last night and',
  'my friends took me here and',
  'we stopped by on sunday and',
  'it was our first visit and',
  'we had a table outside and',
  'i ordered at the counter and',
  'we came for a late dinner and',
  'my sister picked this place and',
  'we waited ten minutes and',
];

function clause(rng: Rng, polarity: Polarity): string {
  const other: Polarity = polarity === 'positive' ? 'negative' : 'positive';
  switch (rng.int(5)) {
    case 0:
      return `the ${pick(rng, NOUNS)} was ${adjective(rng, polarity)} .`;
    case 1: {
      // Mostly agreeing clauses; one in five mixes polarities.
      const second = rng.uniform() < 0.2 ? other : polarity;
      return `the ${pick(rng, NOUNS)} was ${adjective(rng, polarity)} and the ${pick(rng, NOUNS)} was ${adjective(rng, second)} .`;
    }
    case 2:
      return `i ${pick(rng, VERBS[polarity])} the ${pick(rng, NOUNS)} , ${pick(rng, ENDINGS[polarity])}`;
    case 3:
      return `the ${pick(rng, NOUNS)} is ${adjective(rng, polarity)} but the ${pick(rng, NOUNS)} is ${pick(rng, NEUTRAL)} .`;
    default:
      return `the ${pick(rng, NOUNS)} was ${pick(rng, NEUTRAL)} .`; // neutral: its label is noise
  }
}

function sentence(rng: Rng, polarity: Polarity): string {
  return `${pick(rng, OPENERS)} ${clause(rng, polarity)}`;
}

/** The demo corpus: label '0' negative, '1' positive. `train` 6,000 sentences per label; `dev` 500. */
export function demoSplit(split: string): TextRecord[] {
  const perLabel = split === 'train' ? 6000 : 500;
  const rng = createRng('builtin:demo', split);
  const records: TextRecord[] = [];
  for (let i = 0; i < perLabel * 2; i++) {
    const label = i % 2 === 0 ? '0' : '1';
    records.push({
      text: sentence(rng, label === '1' ? 'positive' : 'negative'),
      label,
      origin: `builtin:demo/${split}:${i + 1}`,
    });
  }
  return records;
}
