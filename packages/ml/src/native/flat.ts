/** Named tensors ⇄ one flat buffer in a fixed order (the native engine's parameter layout). */
import type { OptimizerState } from '../engine.js';
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

interface AdamHandle {
  getAdam(): [Float32Array, Float32Array];
  setAdam(m: Float32Array, v: Float32Array): void;
}

/** A native model's Adam moments by name (empty before the first step, as the tfjs engine). */
export function readAdam(
  handle: AdamHandle,
  shapes: Array<[string, number[]]>,
  step: number,
): OptimizerState {
  if (step === 0) return { step: 0, m: new Map(), v: new Map() };
  const [m, v] = handle.getAdam();
  return { step, m: unflatten(shapes, m), v: unflatten(shapes, v) };
}

/** Restores Adam moments; a state written by the tfjs engine holds only trained parameters, the rest start at zero. */
export function writeAdam(
  handle: AdamHandle,
  shapes: Array<[string, number[]]>,
  state: OptimizerState,
): void {
  const fill = (t: TensorMap): TensorMap =>
    new Map(
      shapes.map(([name, shape]) => [
        name,
        t.get(name) ?? { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) },
      ]),
    );
  handle.setAdam(
    flatten(shapes, fill(state.m), 'Adam m'),
    flatten(shapes, fill(state.v), 'Adam v'),
  );
}
