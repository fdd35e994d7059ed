/**
 * GPT-2's pieces as TensorFlow.js functions, leaves first (nanoGPT order): LayerNorm, GELU,
 * embedding lookup, causal self-attention with an optional KV cache, the MLP, the block.
 *
 * Legend: B batch, T new positions, S positions attended to (past + T), C n_embd, H heads,
 * D = C/H head width, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';

export type Params = ReadonlyMap<string, tf.Tensor>;

export function param(params: Params, name: string): tf.Tensor {
  const t = params.get(name);
  if (!t) throw new Error(`GPT-2: parameter ${name} is missing`);
  return t;
}

/**
 * x · W for `x [N, in]`, `W [in, out]`, with a backward pass of plain (untransposed) matmuls:
 * dx = dy · transpose(W), dW = transpose(x) · dy. tfjs's own gradient uses matmul's transpose
 * flags, which the wasm backend runs several times slower than a transpose and a plain matmul
 * (measured: 1.6 s of an 8.8 s training step on the vocabulary projection alone).
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad((a, b, save) => {
    (save as tf.GradSaveFunc)([a as tf.Tensor, b as tf.Tensor]);
    return {
      value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [
          tf.matMul(dy as tf.Tensor2D, tf.transpose(ws)),
          tf.matMul(tf.transpose(xs), dy as tf.Tensor2D),
        ];
      },
    };
  });
  return op(x, w) as tf.Tensor2D;
}

/** LayerNorm over the last axis with biased variance, as torch.nn.LayerNorm. */
export function layerNorm(
  x: tf.Tensor,
  gain: tf.Tensor,
  bias: tf.Tensor,
  epsilon: number,
): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon))), gain), bias);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GPT-2's tanh approximation of GELU (`gelu_new`). */
export function gelu(x: tf.Tensor): tf.Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), GELU_C); // x·x·x: Pow is several times slower on wasm
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/**
 * Rows of `table [N, C]` for `ids`. Its gradient is a scatter-add of the incoming rows; where
 * the backend lacks UnsortedSegmentSum (wasm), the scatter runs in JavaScript, which is also
 * faster there than the one-hot matmul it would otherwise take.
 */
export function embeddingLookup(table: tf.Tensor, ids: Int32Array): tf.Tensor {
  const idsTensor = tf.tensor1d(ids, 'int32');
  const rows = table.shape[0] as number;
  const width = table.shape[1] as number;
  const nativeScatter = tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined;
  const lookup = tf.customGrad((t) => ({
    value: tf.gather(t as tf.Tensor, idsTensor),
    gradFunc: (dy) => {
      // Tensors of the forward pass are gone by now (variableGrads tidies them): build anew.
      if (nativeScatter)
        return tf.unsortedSegmentSum(dy as tf.Tensor, tf.tensor1d(ids, 'int32'), rows);
      const g = (dy as tf.Tensor).dataSync();
      const out = new Float32Array(rows * width);
      for (let i = 0; i < ids.length; i++) {
        const src = i * width;
        const dst = (ids[i] as number) * width;
        for (let c = 0; c < width; c++)
          out[dst + c] = (out[dst + c] as number) + (g[src + c] as number);
      }
      return tf.tensor2d(out, [rows, width]);
    },
  }));
  return lookup(table);
}

/**
 * log softmax(logits)[target] per row: `[N, V]`, `[N]` → `[N]`. Its gradient,
 * dy · (onehot − softmax), is written out so no gather gradient is needed.
 */
export function targetLogprobs(logits: tf.Tensor2D, targets: Int32Array): tf.Tensor1D {
  const [N, V] = logits.shape;
  const flatIndex = tf.tensor1d(
    Int32Array.from(targets, (t, i) => i * V + t),
    'int32',
  );
  const pick = tf.customGrad((x, save) => {
    const logp = tf.logSoftmax(x as tf.Tensor2D);
    (save as tf.GradSaveFunc)([logp]);
    return {
      value: tf.gather(tf.reshape(logp, [N * V]), flatIndex),
      gradFunc: (dy, saved) => {
        const softmax = tf.exp(saved[0] as tf.Tensor);
        const onehot = tf.oneHot(tf.tensor1d(targets, 'int32'), V);
        return tf.mul(tf.sub(onehot, softmax), tf.reshape(dy as tf.Tensor, [N, 1]));
      },
    };
  });
  return pick(logits) as tf.Tensor1D;
}

/** Additive causal mask `[T, S]`: query i (at position past + i) sees keys 0 … past + i. */
export function causalMask(T: number, past: number): tf.Tensor2D {
  const S = past + T;
  const mask = new Float32Array(T * S);
  for (let i = 0; i < T; i++) for (let j = past + i + 1; j < S; j++) mask[i * S + j] = -1e9;
  return tf.tensor2d(mask, [T, S]);
}

export interface LayerCache {
  k: tf.Tensor4D; // [B, H, S, D]
  v: tf.Tensor4D; // [B, H, S, D]
}

/** GELU with erf, as torch's `gelu` (XGLM; transformers' GELUActivation). */
export function geluErf(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/**
 * Where one block's tensors are and how they are stored: GPT-2's Conv1D weights [in, out] with
 * the fused c_attn, or OPT's and XGLM's torch Linear [out, in] with q, k and v apart
 * (modeling_opt.py, modeling_xglm.py). Names are full parameter names without `.weight`.
 */
export interface BlockLayout {
  ln1: string;
  ln2: string;
  /** One fused projection (GPT-2) or q, k, v. */
  qkv: string | readonly [string, string, string];
  out: string;
  fc: string;
  proj: string;
  /** Weights are [out, in] (torch Linear). */
  transposed: boolean;
  activation: 'gelu_new' | 'gelu' | 'relu';
}

/** GPT-2's block l. */
export function gpt2BlockLayout(layer: number): BlockLayout {
  const h = `h.${layer}`;
  return {
    ln1: `${h}.ln_1`,
    ln2: `${h}.ln_2`,
    qkv: `${h}.attn.c_attn`,
    out: `${h}.attn.c_proj`,
    fc: `${h}.mlp.c_fc`,
    proj: `${h}.mlp.c_proj`,
    transposed: false,
    activation: 'gelu_new',
  };
}

/** x [N, in] → x · W + b, W [in, out], or x · Wᵀ + b for a Linear's W [out, in]. */
function dense(x: tf.Tensor2D, params: Params, name: string, transposed: boolean): tf.Tensor2D {
  const w = param(params, `${name}.weight`) as tf.Tensor2D;
  return tf.add(
    linear(x, transposed ? (tf.transpose(w) as tf.Tensor2D) : w),
    param(params, `${name}.bias`),
  ) as tf.Tensor2D;
}

/** Causal self-attention; with `past`, keys and values of earlier positions come from the cache. */
export function attention(
  x: tf.Tensor3D,
  params: Params,
  layout: BlockLayout,
  nHead: number,
  past: LayerCache | null,
): { y: tf.Tensor3D; cache: LayerCache } {
  const [B, T, C] = x.shape;
  const D = C / nHead;
  const x2 = tf.reshape(x, [B * T, C]) as tf.Tensor2D;
  const heads = (t: tf.Tensor) =>
    tf.transpose(tf.reshape(t, [B, T, nHead, D]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, T, D]
  // GPT-2: one [B*T, 3C] product split in three; OPT/XGLM: q_proj, k_proj, v_proj. OPT scales q
  // by 1/√D after q_proj, rdlab the scores: the same product.
  const [q, kNew, vNew] = (
    typeof layout.qkv === 'string'
      ? tf.split(dense(x2, params, layout.qkv, layout.transposed), 3, 1)
      : layout.qkv.map((name) => dense(x2, params, name, layout.transposed))
  ).map(heads) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const k = past ? (tf.concat([past.k, kNew], 2) as tf.Tensor4D) : kNew; // [B, H, S, D]
  const v = past ? (tf.concat([past.v, vNew], 2) as tf.Tensor4D) : vNew;
  const pastLength = past ? (past.k.shape[2] as number) : 0;
  const scores = tf.add(
    tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(D)),
    causalMask(T, pastLength),
  ); // [B, H, T, S]
  const y = tf.matMul(tf.softmax(scores), v); // [B, H, T, D]
  const merged = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, C]) as tf.Tensor2D;
  const out = dense(merged, params, layout.out, layout.transposed);
  return { y: tf.reshape(out, [B, T, C]) as tf.Tensor3D, cache: { k, v } };
}

export function mlp(x: tf.Tensor3D, params: Params, layout: BlockLayout): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const pre = dense(tf.reshape(x, [B * T, C]) as tf.Tensor2D, params, layout.fc, layout.transposed); // [B*T, F]
  const h =
    layout.activation === 'relu'
      ? tf.relu(pre)
      : layout.activation === 'gelu'
        ? geluErf(pre)
        : gelu(pre);
  const out = dense(h as tf.Tensor2D, params, layout.proj, layout.transposed);
  return tf.reshape(out, [B, T, C]) as tf.Tensor3D;
}

/** x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)) (pre-LN: GPT-2, OPT, XGLM alike). */
export function block(
  x: tf.Tensor3D,
  params: Params,
  layout: BlockLayout,
  nHead: number,
  epsilon: number,
  past: LayerCache | null,
): { x: tf.Tensor3D; cache: LayerCache } {
  const norm = (t: tf.Tensor, name: string) =>
    layerNorm(
      t,
      param(params, `${name}.weight`),
      param(params, `${name}.bias`),
      epsilon,
    ) as tf.Tensor3D;
  const a = attention(norm(x, layout.ln1), params, layout, nHead, past);
  const x1 = tf.add(x, a.y) as tf.Tensor3D;
  const m = mlp(norm(x1, layout.ln2), params, layout);
  return { x: tf.add(x1, m) as tf.Tensor3D, cache: a.cache };
}
