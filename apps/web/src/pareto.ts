/**
 * The Pareto front over two objectives to maximise (Acc, Reward): the points no other point
 * dominates, where dominating means at least as good on both and better on one. The same rule
 * as the report's `paretoOptimal` (packages/pipeline report.ts). Pure.
 */

export interface XY {
  x: number;
  y: number;
}

/** Whether `a` dominates `b`. */
export function dominates(a: XY, b: XY): boolean {
  return a.x >= b.x && a.y >= b.y && (a.x > b.x || a.y > b.y);
}

/**
 * Indices of the non-dominated points, ordered by x ascending (then y descending): the front
 * as a line from left to right. Points with a non-finite coordinate take no part. Equal points
 * are all on the front.
 */
export function paretoFront(points: readonly XY[]): number[] {
  const ok = (p: XY) => Number.isFinite(p.x) && Number.isFinite(p.y);
  const front: number[] = [];
  points.forEach((p, i) => {
    if (!ok(p)) return;
    if (!points.some((q, j) => j !== i && ok(q) && dominates(q, p))) front.push(i);
  });
  return front.sort((i, j) => {
    const a = points[i] as XY;
    const b = points[j] as XY;
    return a.x - b.x || b.y - a.y;
  });
}
