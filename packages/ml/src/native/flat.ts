/** Named tensors ⇄ one flat buffer in a fixed order (the native engine's parameter layout). */
import type { TensorMap } from '../safetensors.js';

export function flatten(
  shapes: Array<[string, number[]]>,
  tensors: TensorMap,
  what: string,
): Float32Array {
  const total = shapes.reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const [name, shape] of shapes) {
    const t = tensors.get(name);
    const size = shape.reduce((a, b) => a * b, 1);
    if (!t || t.data.length !== size)
      throw new Error(`${what}: ${name} is missing or not of shape [${shape}]`);
    out.set(t.data, at);
    at += size;
  }
  return out;
}

export function unflatten(shapes: Array<[string, number[]]>, flat: Float32Array): TensorMap {
  const out: TensorMap = new Map();
  let at = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    out.set(name, { shape, data: flat.slice(at, at + size) });
    at += size;
  }
  return out;
}
