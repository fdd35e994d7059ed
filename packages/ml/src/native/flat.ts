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

export interface ParameterHandle {
  getParams(): Float32Array;
  setParams(p: Float32Array): void;
  getAdam(): [Float32Array, Float32Array];
  setAdam(m: Float32Array, v: Float32Array): void;
  dispose(): void;
}

/**
 * A native model's parameters and Adam state, by name, over the addon's flat buffers: the native
 * counterpart of `TfjsParameters`, owned by both native models.
 */
export class NativeParameters<H extends ParameterHandle> {
  readonly handle: H;
  /** Adam steps taken (bias correction, checkpoints). */
  step = 0;

  /** `create` builds the addon object from the flat initial parameters. */
  constructor(
    readonly shapes: Array<[string, number[]]>,
    tensors: TensorMap,
    private readonly what: string,
    create: (flat: Float32Array) => H,
  ) {
    this.handle = create(flatten(shapes, tensors, what));
  }

  read(): TensorMap {
    return unflatten(this.shapes, this.handle.getParams());
  }

  assign(tensors: TensorMap): void {
    this.handle.setParams(flatten(this.shapes, tensors, this.what));
  }

  /** Adam moments by name; empty before the first step, as the tfjs engine keeps them. */
  optimizerState(): OptimizerState {
    if (this.step === 0) return { step: 0, m: new Map(), v: new Map() };
    const [m, v] = this.handle.getAdam();
    return { step: this.step, m: unflatten(this.shapes, m), v: unflatten(this.shapes, v) };
  }

  /** A state written by the tfjs engine holds only trained parameters: the rest start at zero. */
  setOptimizerState(state: OptimizerState): void {
    const fill = (t: TensorMap): TensorMap =>
      new Map(
        this.shapes.map(([name, shape]) => [
          name,
          t.get(name) ?? { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) },
        ]),
      );
    this.handle.setAdam(
      flatten(this.shapes, fill(state.m), 'Adam m'),
      flatten(this.shapes, fill(state.v), 'Adam v'),
    );
    this.step = state.step;
  }

  dispose(): void {
    this.handle.dispose();
  }
}
