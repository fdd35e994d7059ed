import { resolveDataset } from '@rdlab/core';
import { loadDataset } from '@rdlab/data';
import { trainBpe } from './src/tokenizer/train-bpe.js';

let t = performance.now();
const yelp = await loadDataset(
  resolveDataset({
    name: 'yelp',
    source: '/work/shared/datasets/yelp',
    format: 'yelp-style-transfer',
    attributes: ['negative', 'positive'],
    trainSplit: 'train',
  }),
);
const ag = await loadDataset(
  resolveDataset({
    name: 'ag',
    source: '/work/shared/datasets/agnews',
    format: 'agnews-csv',
    attributes: ['world', 'sports', 'business', 'sci-tech'],
    trainSplit: 'train',
  }),
);
console.log(
  'load',
  performance.now() - t,
  [...yelp.train].map(([k, v]) => [k, v.length]),
  [...ag.train].map(([k, v]) => [k, v.length]),
  [...ag.eval].map(([k, v]) => [k, v.length]),
);
console.log(
  ag.train
    .get('world')
    .slice(0, 5)
    .map((r) => r.text),
);
t = performance.now();
const tok = trainBpe(
  [...yelp.train.values()].flat().map((r) => r.text),
  4096,
);
console.log('bpe yelp', performance.now() - t);
const lens = [...yelp.train.values()]
  .flat()
  .slice(0, 5000)
  .map((r) => tok.encode(r.text).length);
console.log(
  'yelp mean tokens',
  lens.reduce((a, b) => a + b) / lens.length,
  lens.filter((l) => l <= 30).length / lens.length,
);
t = performance.now();
const tok2 = trainBpe(
  [...ag.train.values()].flat().map((r) => r.text),
  4096,
);
console.log('bpe ag', performance.now() - t);
const l2 = [...ag.train.values()].flat().map((r) => tok2.encode(r.text).length);
console.log(
  'ag mean tokens',
  l2.reduce((a, b) => a + b) / l2.length,
  l2.filter((l) => l <= 30).length,
  l2.length,
);
