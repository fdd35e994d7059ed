/** Gradient L2 norms by parameter name and in total, accumulated in float64 (both engines). */
export function l2ByName(gradients: Iterable<[string, { data: ArrayLike<number> }]>): {
  gradientNorms: Record<string, number>;
  gradientNorm: number;
} {
  const gradientNorms: Record<string, number> = {};
  let total = 0;
  for (const [name, { data }] of gradients) {
    let sum = 0;
    for (let i = 0; i < data.length; i++) sum += (data[i] as number) ** 2;
    gradientNorms[name] = Math.sqrt(sum);
    total += sum;
  }
  return { gradientNorms, gradientNorm: Math.sqrt(total) };
}
