import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRng } from '../rng.js';
import { applyDropout } from './dropout.js';
import { importanceWeights } from './importance.js';

const rewards = (min = 1) =>
  fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: min, maxLength: 256 });
const gamma = fc.double({ min: 0, max: 1, noNaN: true });

describe('dropout properties', () => {
  it('quantile never keeps a value below one it drops', () => {
    fc.assert(
      fc.property(rewards(), gamma, (r, g) => {
        const { kept } = applyDropout(r, { kind: 'quantile', gamma: g }, createRng(0));
        let minKept = Number.POSITIVE_INFINITY;
        let maxDropped = Number.NEGATIVE_INFINITY;
        r.forEach((v, i) => {
          if (kept[i]) minKept = Math.min(minKept, v);
          else maxDropped = Math.max(maxDropped, v);
        });
        assert.ok(maxDropped < minKept, `dropped ${maxDropped} ≥ kept ${minKept}`);
      }),
    );
  });

  it('quantile keeps exactly the top B − ⌈γ(B−1)⌉ values when there are no ties', () => {
    // numpy's linear quantile sits at index γ(B−1), so the values at or above it are the top
    // B − ⌈γ(B−1)⌉. That equals ⌈(1−γ)·B⌉ for the paper's γ at B = 64 (γ = 0.8 keeps 13, 0.9 keeps 7,
    // 0.95 keeps 4) but not for every (γ, B): γ = 0.2, B = 64 keeps 51, not 52.
    fc.assert(
      // γ on a grid of thousandths and integer rewards: a denormal γ would round the interpolated
      // threshold onto the lower neighbour, which numpy does too.
      fc.property(
        fc.uniqueArray(fc.integer({ min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 256 }),
        fc.integer({ min: 0, max: 1000 }),
        (r, permille) => {
          const g = permille / 1000;
          const { kept } = applyDropout(r, { kind: 'quantile', gamma: g }, createRng(0));
          const count = kept.reduce((a, b) => a + b, 0);
          assert.equal(count, r.length - Math.ceil(g * (r.length - 1)));
        },
      ),
    );
    for (const [g, keep] of [
      [0.8, 13],
      [0.9, 7],
      [0.95, 4],
      [0.2, 51],
    ] as const) {
      const r = Array.from({ length: 64 }, (_, i) => i);
      assert.equal(
        applyDropout(r, { kind: 'quantile', gamma: g }, createRng(0)).kept.reduce(
          (a, b) => a + b,
          0,
        ),
        keep,
      );
    }
  });

  it('random dropout with a fixed seed is reproducible and drops at most ⌊γ·B⌋', () => {
    fc.assert(
      fc.property(
        rewards(),
        gamma,
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.boolean(),
        (r, g, seed, replacement) => {
          const config = { kind: 'random' as const, gamma: g, replacement };
          const a = applyDropout(r, config, createRng(seed));
          const b = applyDropout(r, config, createRng(seed));
          assert.deepEqual(a.kept, b.kept);
          const dropped = r.length - a.kept.reduce((x, y) => x + y, 0);
          const limit = Math.floor(g * r.length);
          if (replacement) assert.ok(dropped <= limit);
          else assert.equal(dropped, limit);
        },
      ),
    );
  });

  it('dropped entries are zero and kept entries keep their reward', () => {
    fc.assert(
      fc.property(rewards(), gamma, (r, g) => {
        const out = applyDropout(r, { kind: 'quantile', gamma: g }, createRng(0));
        r.forEach((v, i) => {
          assert.equal(out.rewards[i], out.kept[i] ? v : 0);
        });
      }),
    );
  });
});

describe('importance weight properties', () => {
  const likelihoods = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), {
    minLength: 1,
    maxLength: 128,
  });

  it('norm-clipped weights have L2 norm ≤ the bound', () => {
    fc.assert(
      fc.property(likelihoods, fc.double({ min: 0.01, max: 10, noNaN: true }), (pi, bound) => {
        const beta = pi.map((_, i) => ((i * 7919) % 100) / 100);
        const w = importanceWeights(pi, beta, { kind: 'norm', bound });
        const norm = Math.sqrt(w.reduce((a, b) => a + b * b, 0));
        assert.ok(norm <= bound * (1 + 1e-12), `‖w‖ = ${norm} > ${bound}`);
      }),
    );
  });

  it('sample-clipped weights are ≤ the bound and ≥ 0', () => {
    fc.assert(
      fc.property(likelihoods, fc.double({ min: 0.01, max: 10, noNaN: true }), (pi, bound) => {
        const w = importanceWeights(
          pi,
          pi.map((p) => 1 - p),
          { kind: 'sample', bound },
        );
        for (const x of w) assert.ok(x >= 0 && x <= bound);
      }),
    );
  });
});
