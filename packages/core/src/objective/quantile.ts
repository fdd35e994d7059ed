/**
 * The q-quantile of a sample with numpy's default method ("linear", Hyndman & Fan type 7), so a
 * threshold computed here equals `np.quantile(r, q)` and `torch.quantile(r, q)` in the authors'
 * code, bit for bit.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  const n = values.length;
  if (n === 0) throw new RangeError('quantile: values must not be empty');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort();
  if (Number.isNaN(sorted[n - 1] as number)) return Number.NaN; // numpy propagates NaN
  const virtualIndex = (n - 1) * q;
  const previous = Math.min(Math.max(Math.floor(virtualIndex), 0), n - 1);
  const next = Math.min(previous + 1, n - 1);
  return lerp(sorted[previous] as number, sorted[next] as number, virtualIndex - previous);
}

/** numpy's `_lerp`: the form that is exact at both ends (t = 0 gives a, t = 1 gives b). */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}
