import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { dominates, paretoFront, type XY } from '../src/pareto.js';

describe('the Pareto front (maximise both)', () => {
  it('keeps the non-dominated points, left to right', () => {
    const points = [
      { x: 0.2, y: 0.6 }, // dominated by 0.25/0.8
      { x: 0.25, y: 0.8 },
      { x: 0.35, y: 0.7 },
      { x: 0.1, y: 0.9 },
      { x: 0.3, y: 0.5 }, // dominated by 0.35/0.7
    ];
    assert.deepEqual(paretoFront(points), [3, 1, 2]);
  });

  it('keeps equal points together and ignores non-finite ones', () => {
    assert.deepEqual(
      paretoFront([
        { x: 1, y: 1 },
        { x: 1, y: 1 },
        { x: Number.NaN, y: 5 },
      ]),
      [0, 1],
    );
    assert.deepEqual(paretoFront([]), []);
  });

  it('is exactly the points nothing dominates, and every other point is dominated by the front', () => {
    const point = fc.record({
      x: fc.double({ min: 0, max: 1, noNaN: true }),
      y: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 30 }), (points: XY[]) => {
        const front = paretoFront(points);
        const on = new Set(front);
        points.forEach((p, i) => {
          const dominated = points.some((q) => dominates(q, p));
          assert.equal(on.has(i), !dominated);
          if (dominated) assert.ok(front.some((j) => dominates(points[j] as XY, p)));
        });
        for (let k = 1; k < front.length; k++) {
          assert.ok(
            (points[front[k - 1] as number] as XY).x <= (points[front[k] as number] as XY).x,
          );
        }
      }),
    );
  });
});
