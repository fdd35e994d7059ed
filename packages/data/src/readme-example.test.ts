/** The README example, type-checked and run (apps/cli/test/readmes.test.ts keeps the two equal). */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { resolveDataset } from '@rdlab/core';
import { loadDataset, selectPrefixes } from './index.js';

// Relative to the repository root, where the tests run.
const yelp = '../shared/datasets/yelp';
const skip = existsSync(yelp) ? false : `${yelp} is absent (the shared datasets)`;

it('runs the README example on the Yelp data', { skip }, async () => {
  // --- README example starts
  const data = await loadDataset(
    resolveDataset({
      name: 'yelp',
      source: '../shared/datasets/yelp',
      format: 'yelp-style-transfer',
      attributes: ['negative', 'positive'],
      trainSplit: 'train',
    }),
  );
  const { prefixes } = selectPrefixes(
    data.train.get('positive') ?? [],
    (t) => t.split(' ').map((w) => w.length),
    { count: 100, prefixLength: 4, maxLength: 30, seed: 0, label: 'yelp/positive' },
  );
  // --- README example ends
  assert.equal(prefixes.length, 100);
});
