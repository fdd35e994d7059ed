import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { dropoutLabel } from '../objective/dropout-label.js';
import { formatProblem } from './problems.js';
import { parseSpecText, parseSweepSpec, SpecError, validateSpec } from './validate.js';

const minimal = {
  datasets: [
    {
      name: 'yelp',
      source: 'data/yelp',
      format: 'yelp-style-transfer',
      attributes: ['negative', 'positive'],
    },
  ],
  dropout: [
    { kind: 'none' },
    { kind: 'random', gamma: [0.2, 0.4] },
    { kind: 'quantile', gamma: 0.8 },
  ],
};

function valid(input: unknown) {
  const result = validateSpec(input);
  if (!result.ok) assert.fail(result.problems.map(formatProblem).join('\n'));
  return result;
}

function problems(input: unknown) {
  const result = validateSpec(input);
  assert.equal(result.ok, false, 'expected the spec to be rejected');
  return (result as { problems: Array<{ path: string; message: string; value: unknown }> })
    .problems;
}

describe('sweep spec defaults', () => {
  it('fills in the paper setup and the authors code defaults', () => {
    const { spec } = valid(minimal);
    assert.deepEqual(
      {
        batchSize: spec.training.batchSize,
        epochs: spec.training.epochs,
        learningRate: spec.training.learningRate,
        prefixLength: spec.training.prefixLength,
        maxLength: spec.training.maxLength,
        temperature: spec.training.temperature,
        clip: spec.training.importanceWeightClip,
        likelihood: spec.training.likelihood,
        rewardSignal: spec.training.rewardSignal,
        objective: spec.training.objective,
        gradientClipNorm: spec.training.gradientClipNorm,
        samplesPerEpoch: spec.training.samplesPerEpoch,
        behaviorProbabilities: spec.training.behaviorProbabilities,
        dropLastBatch: spec.training.dropLastBatch,
      },
      {
        batchSize: 64,
        epochs: 5,
        learningRate: 5e-5,
        prefixLength: 4,
        maxLength: 30,
        temperature: 0.4,
        clip: { kind: 'norm', bound: 1 },
        likelihood: 'mean',
        rewardSignal: 'logit',
        // The authors' update (RLHF_train.py:385,415), their samples per epoch, no clipping,
        // β̄ of the sampling distribution, full batches only.
        objective: 'total',
        gradientClipNorm: 0,
        samplesPerEpoch: 'one',
        behaviorProbabilities: 'sampling',
        dropLastBatch: true,
      },
    );
    assert.deepEqual(spec.bootstrap, {
      prefixesPerAttribute: 50000,
      samplesPerPrefix: 10,
      shardSize: 5000,
      seed: 0,
    });
    assert.deepEqual(spec.seeds, [1]);
    assert.equal(spec.limits.maxCells, 1000);
    assert.deepEqual(spec.behavior.model, { preset: 'small' });
    assert.equal(spec.targets[0]?.init, 'behavior');
    assert.equal(spec.evaluation.decoding, 'greedy');
  });
});

describe('sweep spec validation', () => {
  it('reports every problem at once, each with its JSON pointer', () => {
    const found = problems({
      datasets: [
        {
          name: 'yelp',
          source: 'x',
          format: 'yelp-style-transfer',
          attributes: ['negative', 'postive'],
        },
      ],
      dropout: [
        { kind: 'none', gamma: 0.3 },
        { kind: 'quantil' },
        { kind: 'random', gamma: [0.2, 0.4, 1.5] },
      ],
      training: { batchsize: 64, learningRate: -1 },
      seeds: [1, 1.5],
    });
    assert.deepEqual(
      found.map((p) => p.path).sort(),
      [
        '/datasets/0/attributes/1',
        '/dropout/0/gamma',
        '/dropout/1/kind',
        '/dropout/2/gamma/2',
        '/seeds/1',
        '/training/batchsize',
        '/training/learningRate',
      ].sort(),
    );
    const byPath = new Map(found.map((p) => [p.path, p]));
    assert.match(byPath.get('/dropout/2/gamma/2')!.message, /≤ 1/);
    assert.equal(byPath.get('/dropout/2/gamma/2')!.value, 1.5);
    assert.match(byPath.get('/training/batchsize')!.message, /did you mean 'batchSize'/);
    assert.match(
      byPath.get('/dropout/1/kind')!.message,
      /one of 'none', 'random', 'quantile', 'threshold'; did you mean 'quantile'/,
    );
    assert.match(byPath.get('/datasets/0/attributes/1')!.message, /did you mean 'positive'/);
  });

  it('lists the allowed keys when an unknown key resembles none of them', () => {
    const [p] = problems({ ...minimal, zzz: 1 });
    assert.equal(p?.path, '/zzz');
    assert.match(p!.message, /allowed keys: 'version', 'name'/);
  });

  it('requires the field each dropout kind needs and refuses the ones it does not take', () => {
    const found = problems({
      ...minimal,
      dropout: [{ kind: 'quantile' }, { kind: 'threshold', gamma: 0.5, delta: 0 }],
    });
    assert.deepEqual(
      found.map((p) => `${p.path} ${p.message}`),
      [
        "/dropout/0/gamma is required for 'quantile' dropout",
        "/dropout/1/gamma does not apply to 'threshold' dropout",
      ],
    );
  });

  it('rejects a repeated dropout variant, a repeated seed and duplicate names', () => {
    const found = problems({
      ...minimal,
      datasets: [minimal.datasets[0], minimal.datasets[0]],
      dropout: [
        { kind: 'quantile', gamma: 0.8 },
        { kind: 'quantile', gamma: [0.9, 0.8] },
      ],
    });
    assert.deepEqual(
      found.map((p) => p.path),
      ['/datasets/1/name', '/dropout/1/gamma/1'],
    );
    assert.deepEqual(
      problems({ ...minimal, seeds: [3, 3] }).map((p) => p.path),
      ['/seeds/1'],
    );
  });

  it('checks targets against the behaviour model and their init', () => {
    const found = problems({
      ...minimal,
      targets: [
        { model: { preset: 'tiny' } },
        { model: { preset: 'tiny', checkpoint: 'x' }, init: 'random' },
        { init: 'pretrained' },
      ],
    });
    assert.deepEqual(
      found.map((p) => p.path),
      ['/targets/1/model', '/targets/2/model'],
    );
    const cross = problems({ ...minimal, targets: [{ model: { preset: 'tiny' } }] });
    assert.equal(cross[0]?.path, '/targets/0/init');
    assert.match(cross[0]!.message, /copies β's weights/);
  });

  it('refuses a sweep larger than limits.maxCells, saying how large it is', () => {
    const found = problems({ ...minimal, seeds: [1, 2, 3], limits: { maxCells: 10 } });
    assert.equal(found[0]?.path, '/limits/maxCells');
    assert.match(found[0]!.message, /expands to 24 cells/);
  });

  it('turns YAML syntax errors into problems with a line', () => {
    const parsed = parseSpecText('datasets: [1\n');
    assert.equal(parsed.ok, false);
    assert.match(
      (parsed as { problems: Array<{ message: string }> }).problems[0]!.message,
      /line \d+/,
    );
    assert.throws(() => parseSweepSpec('dropout: 3'), SpecError);
  });
});

describe('grid expansion', () => {
  it('multiplies attributes × targets × dropout variants × seeds, with none counted once', () => {
    const { cells } = valid({ ...minimal, seeds: [1, 2] });
    assert.equal(cells.length, 2 * 1 * (1 + 2 + 1) * 2);
    assert.equal(cells.filter((c) => c.dropout.kind === 'none').length, 4);
    assert.deepEqual(
      cells.slice(0, 8).map((c) => `${c.attribute}/${dropoutLabel(c.dropout)}/${c.seed}`),
      [
        'negative/none/1',
        'negative/none/2',
        'negative/random-0.2/1',
        'negative/random-0.2/2',
        'negative/random-0.4/1',
        'negative/random-0.4/2',
        'negative/quantile-0.8/1',
        'negative/quantile-0.8/2',
      ],
    );
    assert.equal(new Set(cells.map((c) => c.id)).size, cells.length);
  });

  it('gives a cell the same id in two specs and whatever the key order', () => {
    const a = valid(minimal).cells;
    const reordered = parseSweepSpec(
      stringify({
        dropout: [{ gamma: 0.8, kind: 'quantile' }],
        datasets: minimal.datasets,
        name: 'other',
      }),
    ).cells;
    const quantileA = a.find((c) => c.dropout.kind === 'quantile' && c.attribute === 'positive');
    const quantileB = reordered.find((c) => c.attribute === 'positive');
    assert.equal(quantileA?.id, quantileB?.id);
  });

  it('changes the id when a setting the result depends on changes', () => {
    const base = valid(minimal).cells[0]!.id;
    assert.notEqual(valid({ ...minimal, training: { learningRate: 1e-4 } }).cells[0]!.id, base);
    assert.notEqual(valid({ ...minimal, seeds: [2] }).cells[0]!.id, base);
    assert.equal(valid({ ...minimal, name: 'renamed' }).cells[0]!.id, base);
  });

  it('pairs the cells that differ only in their dropout', () => {
    const { cells } = valid({ ...minimal, seeds: [1, 2] });
    const pairsOf = (attribute: string, seed: number) =>
      new Set(cells.filter((c) => c.attribute === attribute && c.seed === seed).map((c) => c.pair));
    assert.equal(pairsOf('positive', 1).size, 1);
    assert.equal(new Set(cells.map((c) => c.pair)).size, 2 * 2, 'one pair per attribute and seed');
    assert.notEqual([...pairsOf('positive', 1)][0], [...pairsOf('positive', 2)][0]);
  });
});

describe('examples/', () => {
  const dir = fileURLToPath(new URL('../../../../examples/', import.meta.url));
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    it(`${file} validates`, () => {
      parseSweepSpec(readFileSync(dir + file, 'utf8'));
    });
  }
});
