import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../rng.js';
import { lossCoefficients, std, weightedLoss } from './coefficients.js';
import { applyDropout, dropoutKinds } from './dropout.js';
import { importanceWeights } from './importance.js';
import { sequenceLikelihood } from './likelihood.js';
import { quantile } from './quantile.js';
import { biObjectiveReward, rewardModelScores, totalReward } from './reward.js';

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-12) => {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => {
    assert.ok(Math.abs((actual[i] as number) - e) <= tol, `[${i}] ${actual[i]} ≠ ${e}`);
  });
};

describe('quantile (numpy linear interpolation)', () => {
  it('interpolates between order statistics like np.quantile', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([3, 1, 2], 0.8), 2.6); // sorted [1,2,3], index 1.6 → 2 + 0.6·1
    assert.equal(quantile([0.3, -1.2, 2.5, 0.7, 0.7], 0.8), 1.0600000000000003); // np.quantile, bit for bit
    assert.equal(quantile([0.3, -1.2, 2.5, 0.7, 0.7], 0.35), 0.45999999999999996);
    assert.equal(quantile([5], 0.3), 5);
    assert.equal(quantile([1, 9], 0), 1);
    assert.equal(quantile([1, 9], 1), 9);
  });

  it('returns the tied value when both neighbours tie', () => {
    assert.equal(quantile([1, 1, 1, 2], 0.5), 1); // index 1.5 between two 1s
  });

  it('rejects empty input and q outside [0, 1]', () => {
    assert.throws(() => quantile([], 0.5), /must not be empty/);
    assert.throws(() => quantile([1], 1.5), /q must be in \[0, 1\]/);
  });
});

describe('sequenceLikelihood', () => {
  // Row 0: generated tokens with p = 0.5, 0.25 and one padding slot; row 1: one token, p = 0.1.
  const tokens = {
    logprobs: [Math.log(0.5), Math.log(0.25), -99, Math.log(0.1), -99, -99],
    mask: [1, 1, 0, 1, 0, 0],
    batchSize: 2,
    length: 3,
  };

  it('averages token probabilities over the mask (the default)', () => {
    close(sequenceLikelihood(tokens), [0.375, 0.1]); // (0.5 + 0.25)/2
  });

  it('takes the geometric mean exp(mean log p) as the variant', () => {
    close(sequenceLikelihood(tokens, 'geometric'), [Math.sqrt(0.125), 0.1], 1e-15);
  });

  it('refuses a row with no unmasked token and mismatched shapes', () => {
    assert.throws(
      () => sequenceLikelihood({ ...tokens, mask: [1, 1, 0, 0, 0, 0] }),
      /row 1 has no unmasked token/,
    );
    assert.throws(() => sequenceLikelihood({ ...tokens, length: 2 }), /batchSize × length = 4/);
  });
});

describe('rewards', () => {
  const R = [2.0, -1.0];
  const behavior = [0.375, 0.1];
  const target = [0.3, 0.1];

  it('bi-objective reward is R + ln(β̄ + 1e-5)', () => {
    close(biObjectiveReward(R, behavior), [1.0191974132993913, -3.302485097993712]);
  });

  it('total reward subtracts ln(π̄ + 1e-5) (Eq. 3)', () => {
    close(totalReward(R, behavior, target), [2.2231368848475372, -1.0]);
  });

  it('reads R as the attribute logit or its softmax probability', () => {
    const logits = [1, 2, 0, 0.5, 0.5, 0.5]; // two rows, three classes
    close(rewardModelScores(logits, 3, 1), [2, 0.5]);
    const e = [Math.E ** 1, Math.E ** 2, 1];
    close(
      rewardModelScores(logits, 3, 1, 'probability'),
      [e[1]! / (e[0]! + e[1]! + e[2]!), 1 / 3],
      1e-15,
    );
    assert.throws(
      () => rewardModelScores(logits, 3, 3),
      /attribute must be an integer in \[0, 3\)/,
    );
  });
});

describe('importanceWeights', () => {
  it('rescales the batch vector to L2 norm 1 when it is longer (the default)', () => {
    // w = (π̄ + ε)/(β̄ + ε) = [0.8000053, 1]; ‖w‖ = 1.2806 > 1
    close(importanceWeights([0.3, 0.1], [0.375, 0.1]), [0.6246975868875615, 0.7808667779697491]);
  });

  it('leaves a vector already inside the bound alone', () => {
    close(importanceWeights([0.1, 0.1], [0.2, 0.4], { kind: 'norm', bound: 1 }), [
      0.10001 / 0.20001,
      0.10001 / 0.40001,
    ]);
  });

  it('clips per sample with min(w, c) as the variant', () => {
    close(importanceWeights([0.3, 0.5], [0.375, 0.1], { kind: 'sample', bound: 2 }), [
      0.30001 / 0.37501,
      2,
    ]);
  });
});

describe('dropout', () => {
  const r = [0.5, -2, 3, 1, 0];
  const rng = () => createRng(1);

  it('quantile: sets rewards below the γ-quantile to zero', () => {
    // sorted [-2, 0, 0.5, 1, 3], index 4·0.4 = 1.6 → threshold 0 + 0.6·0.5 = 0.3
    const out = applyDropout(r, { kind: 'quantile', gamma: 0.4 }, rng());
    close([out.threshold!], [0.3], 1e-15);
    assert.deepEqual(Array.from(out.rewards), [0.5, 0, 3, 1, 0]);
    assert.deepEqual(Array.from(out.kept), [1, 0, 1, 1, 0]);
  });

  it('quantile keeps every tied value at the threshold', () => {
    const out = applyDropout([1, 1, 1, 1], { kind: 'quantile', gamma: 0.8 }, rng());
    assert.deepEqual(Array.from(out.kept), [1, 1, 1, 1]);
  });

  it('threshold: keeps r > δ only (Eq. 6)', () => {
    const out = applyDropout(r, { kind: 'threshold', delta: 0.5 }, rng());
    assert.deepEqual(Array.from(out.rewards), [0, 0, 3, 1, 0]);
  });

  it('none keeps everything', () => {
    assert.deepEqual(Array.from(applyDropout(r, { kind: 'none' }, rng()).rewards), r);
  });

  it('random without replacement drops exactly ⌊γ·B⌋ samples', () => {
    const out = applyDropout(
      new Array(64).fill(1),
      { kind: 'random', gamma: 0.8, replacement: false },
      rng(),
    );
    assert.equal(
      out.kept.reduce((a, b) => a + b, 0),
      64 - 51,
    );
  });

  it('random with replacement drops at most ⌊γ·B⌋ samples, usually fewer', () => {
    const out = applyDropout(new Array(64).fill(1), { kind: 'random', gamma: 0.8 }, rng());
    const dropped = 64 - out.kept.reduce((a, b) => a + b, 0);
    assert.ok(dropped <= 51 && dropped > 30, `dropped ${dropped}`);
  });

  it('names the supported kinds when given an unknown one', () => {
    assert.deepEqual(dropoutKinds().slice(0, 4), ['none', 'random', 'quantile', 'threshold']);
    assert.throws(
      () => applyDropout(r, { kind: 'topk' } as never, rng()),
      /Supported kinds are: none, random, quantile, threshold/,
    );
    assert.throws(
      () => applyDropout(r, { kind: 'quantile', gamma: 1.2 }, rng()),
      /quantile dropout: gamma must be ≤ 1, got 1.2/,
    );
  });
});

describe('lossCoefficients', () => {
  const batch = {
    rewardModelScore: [2.1, -0.3, 0.8, 1.5],
    behaviorLikelihood: [0.3, 0.2, 0.25, 0.4],
    targetLikelihood: [0.28, 0.22, 0.2, 0.41],
  };

  it("drops on r and multiplies the kept samples by w · ℜ, ℜ = r − ln π̄ (the authors' update)", () => {
    const out = lossCoefficients(
      batch,
      {
        objective: 'total',
        dropout: { kind: 'quantile', gamma: 0.5 },
        importanceWeightClip: { kind: 'norm', bound: 1 },
      },
      createRng(1),
    );
    // r = R + ln(β̄ + 1e-5) decides the dropout, whatever the objective.
    close(
      out.biObjectiveRewards,
      [0.8960605284518541, -1.9093879136840586, -0.5862543619198692, 0.5837342678133502],
    );
    assert.deepEqual(Array.from(out.kept), [1, 0, 0, 1]);
    close(
      out.multipliers,
      [2.168990490616767, -0.3953056345667112, 1.0231335517641893, 1.4753079971506686],
    );
    close(
      out.weights,
      [0.4805813267460073, 0.5663954978779343, 0.41192998984733015, 0.5277797000937349],
    );
    close(out.coefficients, [1.0423763276800793, 0, 0, 0.7786376122820685]);
    assert.equal(out.metrics['dropout/kept_fraction'], 0.5);
    close([out.metrics['dropout/threshold']!], [-0.0012600470532594388]);
    close([out.metrics['bi_objective_reward/std']!], [std(out.biObjectiveRewards)]);
  });

  it('multiplies by r itself for the bi-objective variant, with the same samples kept', () => {
    const out = lossCoefficients(
      batch,
      {
        objective: 'bi-objective',
        dropout: { kind: 'quantile', gamma: 0.5 },
        importanceWeightClip: { kind: 'norm', bound: 1 },
      },
      createRng(1),
    );
    assert.deepEqual(Array.from(out.kept), [1, 0, 0, 1]);
    close(out.multipliers, Array.from(out.biObjectiveRewards));
    close(out.coefficients, [0.43062995760812045, 0, 0, 0.3080830968009659]);
    close([weightedLoss(out.coefficients, [3.0, 2.5, 4.0, 1.0])], [0.39999324240633183]);
  });

  it('uses ℜ = R + ln β̄ − ln π̄ as the total multiplier', () => {
    const out = lossCoefficients(
      batch,
      {
        objective: 'total',
        dropout: { kind: 'none' },
        importanceWeightClip: { kind: 'none', bound: 1 },
      },
      createRng(1),
    );
    close(
      out.multipliers,
      totalReward(
        batch.rewardModelScore,
        batch.behaviorLikelihood,
        batch.targetLikelihood,
      ) as unknown as number[],
    );
    close(
      out.coefficients,
      Array.from(
        out.multipliers,
        (m, b) => m * ((batch.targetLikelihood[b]! + 1e-5) / (batch.behaviorLikelihood[b]! + 1e-5)),
      ),
    );
  });
});
