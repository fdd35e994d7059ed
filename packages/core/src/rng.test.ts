import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRng, deriveSeed, Rng } from './rng.js';

describe('Rng', () => {
  it('matches the reference xoshiro128** (C, SplitMix32 seeding) for seed 42', () => {
    // Printed by the reference C implementation of Blackman & Vigna with the same seeding.
    const rng = new Rng(42);
    assert.deepEqual(
      Array.from({ length: 5 }, () => rng.nextUint32()),
      [2837322924, 544945897, 479756282, 3500138142, 339756180],
    );
  });

  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const sa = Array.from({ length: 100 }, () => a.uniform());
    assert.deepEqual(
      sa,
      Array.from({ length: 100 }, () => b.uniform()),
    );
    assert.notDeepEqual(
      sa,
      Array.from({ length: 100 }, () => c.uniform()),
    );
  });

  it('derives streams from labels, independent of the order they are asked for', () => {
    const first = createRng(1, 'shard', 7).uniform();
    createRng(1, 'shard', 3).uniform();
    assert.equal(createRng(1, 'shard', 7).uniform(), first);
    assert.notEqual(deriveSeed(1, 'shard', 7), deriveSeed(1, 'shard', 8));
    assert.notEqual(deriveSeed(1, 'shard', 7), deriveSeed(2, 'shard', 7));
  });

  it('draws uniform doubles in [0, 1) with the right mean', () => {
    const rng = createRng('mean');
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const u = rng.uniform();
      assert.ok(u >= 0 && u < 1);
      sum += u;
    }
    assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  });

  it('draws unbiased integers: every value of int(6) about 1/6 of the time', () => {
    const rng = createRng(3);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[rng.int(6)] += 1;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `count ${c}`);
  });

  it('draws standard normals with mean 0 and variance 1', () => {
    const rng = createRng(11);
    const xs = Array.from({ length: 20000 }, () => rng.normal());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    assert.ok(Math.abs(mean) < 0.03);
    assert.ok(Math.abs(variance - 1) < 0.04);
  });

  it('chooses k distinct indices and shuffles to a permutation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (n, kRaw, seed) => {
          const k = kRaw % (n + 1);
          const picked = createRng(seed).choose(n, k);
          assert.equal(picked.length, k);
          assert.equal(new Set(picked).size, k);
          for (const i of picked) assert.ok(i >= 0 && i < n);
          const perm = createRng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
          assert.deepEqual(
            [...perm].sort((a, b) => a - b),
            Array.from({ length: n }, (_, i) => i),
          );
        },
      ),
    );
  });

  it('samples categorical indices in proportion to their weights and never a zero weight', () => {
    const rng = createRng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) counts[rng.categorical([1, 0, 3])]! += 1;
    assert.equal(counts[1], 0);
    assert.ok(Math.abs(counts[0]! / 30000 - 0.25) < 0.015);
  });

  it('rejects bad arguments with a message naming them', () => {
    assert.throws(() => createRng(1).int(0), /n must be an integer/);
    assert.throws(() => createRng(1).choose(3, 4), /k must be in \[0, n=3\]/);
    assert.throws(() => createRng(1).categorical([0, 0]), /positive sum/);
  });

  it('hands over its state: a generator set to the state of another draws what the other would', () => {
    const a = createRng(21);
    a.uniform();
    const b = createRng(99);
    b.setState(a.getState());
    assert.deepEqual(
      Array.from({ length: 5 }, () => b.nextUint32()),
      Array.from({ length: 5 }, () => a.nextUint32()),
    );
    assert.throws(() => b.setState([1, 2, 3]), /4 words/);
  });
});
