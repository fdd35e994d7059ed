/**
 * Adam (Kingma & Ba, 2015) with global gradient-norm clipping, as torch.optim.Adam and
 * torch.nn.utils.clip_grad_norm_ compute them. Written out rather than tf.train.adam so its
 * state is named by parameter and checkpoints restore it exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamOptions, OptimizerState } from './engine.js';
import type { TensorMap } from './safetensors.js';

export class TfjsAdam {
  private step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  /** Clips and applies `gradients` to `variables`; returns the gradient norm before clipping. */
  apply(
    variables: ReadonlyMap<string, tf.Variable>,
    gradients: ReadonlyMap<string, tf.Tensor>,
    options: AdamOptions,
  ): number {
    const {
      learningRate: lr,
      beta1 = 0.9,
      beta2 = 0.999,
      epsilon = 1e-8,
      gradientClipNorm = 0,
    } = options;
    const norm = tf.tidy(() => {
      const squares = [...gradients.values()].map((g) => tf.sum(tf.square(g)));
      return Math.sqrt(tf.addN(squares).dataSync()[0] as number);
    });
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied only when below 1.
    const scale = gradientClipNorm > 0 ? Math.min(1, gradientClipNorm / (norm + 1e-6)) : 1;
    this.step += 1;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    for (const [name, gradient] of gradients) {
      const variable = variables.get(name);
      if (!variable) throw new Error(`Adam: no variable ${name}`);
      const m = this.slot(this.m, name, variable);
      const v = this.slot(this.v, name, variable);
      tf.tidy(() => {
        const g = scale === 1 ? gradient : tf.mul(gradient, scale);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(correction2)), epsilon);
        variable.assign(tf.sub(variable, tf.mul(tf.div(m, denominator), lr / correction1)));
      });
    }
    return norm;
  }

  private slot(slots: Map<string, tf.Variable>, name: string, like: tf.Variable): tf.Variable {
    let s = slots.get(name);
    if (!s) {
      s = tf.variable(tf.zerosLike(like), false);
      slots.set(name, s);
    }
    return s;
  }

  getState(): OptimizerState {
    const read = (slots: Map<string, tf.Variable>): TensorMap =>
      new Map(
        [...slots].map(([name, s]) => [
          name,
          { shape: [...s.shape], data: s.dataSync() as Float32Array },
        ]),
      );
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  setState(state: OptimizerState, variables: ReadonlyMap<string, tf.Variable>): void {
    this.dispose();
    this.step = state.step;
    for (const [slots, values] of [
      [this.m, state.m],
      [this.v, state.v],
    ] as const) {
      for (const [name, t] of values) {
        const like = variables.get(name);
        if (!like) throw new Error(`Adam state names ${name}, which the model does not have`);
        slots.set(name, tf.variable(tf.tensor(t.data, like.shape), false));
      }
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * A tfjs model's parameters: named variables created from a {@link TensorMap}, read and written
 * by name, and trained by one {@link TfjsAdam}. Both tfjs models (GPT-2, the classifier) own one.
 */
let created = 0;

export class TfjsParameters {
  readonly variables = new Map<string, tf.Variable>();
  private readonly adam = new TfjsAdam();

  constructor(shapes: Array<[string, number[]]>, tensors: TensorMap, what: string) {
    for (const [name, shape] of shapes) {
      const t = tensors.get(name);
      if (!t) throw new Error(`${what}: parameter ${name} is missing`);
      // Variable names are global in the tfjs engine, and two models hold the same parameter names.
      this.variables.set(
        name,
        tf.variable(tf.tensor(t.data, shape), true, `${what}.${name}#${++created}`),
      );
    }
  }

  get(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`no parameter ${name}`);
    return v;
  }

  read(): TensorMap {
    return new Map(
      [...this.variables].map(([name, v]) => [
        name,
        { shape: [...v.shape], data: v.dataSync() as Float32Array },
      ]),
    );
  }

  assign(tensors: TensorMap): void {
    for (const [name, v] of this.variables) {
      const t = tensors.get(name);
      if (!t) throw new Error(`setParameters: ${name} is missing`);
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
    }
  }

  /** Applies and then disposes `gradients`; returns the global norm before clipping. */
  step(gradients: Map<string, tf.Tensor>, options: AdamOptions): number {
    const norm = this.adam.apply(this.variables, gradients, options);
    for (const g of gradients.values()) g.dispose();
    return norm;
  }

  optimizerState(): OptimizerState {
    return this.adam.getState();
  }

  setOptimizerState(state: OptimizerState): void {
    this.adam.setState(state, this.variables);
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.variables.clear();
    this.adam.dispose();
  }
}
