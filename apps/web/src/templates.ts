/** Sweep specs to start from on the submit page. */

export interface SpecTemplate {
  id: string;
  label: string;
  yaml: string;
}

export const TEMPLATES: SpecTemplate[] = [
  {
    id: 'tiny',
    label: 'Tiny (synthetic data, tens of seconds)',
    yaml: `# A tiny sweep on the built-in synthetic corpus: a check that the service works end to end.
name: tiny
datasets:
  - name: demo
    source: builtin:demo
    attributes: [positive]
behavior:
  model: { preset: tiny }
  training: { epochs: 1, sentencesPerAttribute: 200 }
rewardModel:
  training: { epochs: 1, sentencesPerAttribute: 200 }
dropout:
  - kind: none
  - kind: quantile
    gamma: 0.5
training:
  batchSize: 8
  epochs: 2
  maxLength: 20
  temperature: 1
bootstrap:
  prefixesPerAttribute: 24
  samplesPerPrefix: 2
  shardSize: 12
evaluation:
  prefixes: 8
  examples: 3
`,
  },
  {
    id: 'demo',
    label: 'Demo (examples/demo.yaml, about a minute)',
    yaml: `# The demo sweep (examples/demo.yaml): reward dropout on the built-in synthetic sentiment corpus.
name: demo
description: Reward dropout on the built-in synthetic sentiment corpus
datasets:
  - name: demo
    source: builtin:demo
    attributes: [negative, positive]
behavior:
  model: { preset: tiny }
  training: { epochs: 3, learningRate: 3.0e-3, batchSize: 64 }
rewardModel:
  model: { preset: cnn }
  training: { epochs: 2, learningRate: 3.0e-3, batchSize: 64 }
dropout:
  - kind: none
  - kind: random
    gamma: 0.8
  - kind: quantile
    gamma: 0.8
training:
  batchSize: 64
  epochs: 1
  learningRate: 5.0e-4
  prefixLength: 4
  maxLength: 24
  temperature: 1.0
bootstrap:
  prefixesPerAttribute: 1000
  samplesPerPrefix: 4
  shardSize: 500
evaluation:
  prefixes: 300
  examples: 3
seeds: [1]
`,
  },
];
