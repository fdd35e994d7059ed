// The element-wise and row-wise kernels of the decoders on the GPU (GPT-2, OPT, XGLM), one job
// each, after llm.c: LayerNorm, the FFN activations (tanh GELU, erf GELU, ReLU), residual sums, embeddings, the attention's layout changes and causal softmax, and the
// cross-entropy of the loss rows, with their backward passes. The GEMMs are cuBLAS (matmul.cuh).
//
// Row-major throughout. Legend: N rows (B·T), C width, B batch, T positions, H heads, D = C/H,
// M loss rows, V vocabulary, Vp the padded vocabulary (engine.h's padded_vocab: the logits' row
// stride). `T_` is the activation type (float or bfloat16); parameters, LayerNorm
// statistics, gradients and logits are float. gpt2.cu and bert.cu both include this header: the
// kernels that are not templates are static, so each translation unit has its own.
#pragma once
#include "common.cuh"
#include "engine.h"

namespace rdlab_cuda {

constexpr float GELU_SCALE = 0.7978845608028654f;  // √(2/π)

// ---------------------------------------------------------------- embeddings

// out[n] = wte[ids[n]] · scale + pos[offset + n % T]; ids outside the vocabulary read row 0
// (validated by the addon: never read out of bounds). `pos` is the position table already moved
// by OPT's and XGLM's offset of 2 rows: learned (wpe) or XGLM's sinusoids; `scale` is XGLM's
// √C (1 otherwise, exact: e·1 + p = e + p).
template <typename T_>
__global__ void embed_kernel(T_* out, const int32_t* ids, const float* wte, const float* pos, int N, int T, int offset, int C, int V, float scale) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)N * C) return;
  const int n = (int)(i / C), c = (int)(i % C);
  int id = ids[n];
  if (id < 0 || id >= V) id = 0;
  out[i] = from_float<T_>(__fadd_rn(__fmul_rn(wte[(size_t)id * C + c], scale), pos[(size_t)(offset + n % T) * C + c]));
}

// dwte[id] += Σ dres · scale over the positions holding id, in position order (no atomics:
// deterministic). The host groups positions by id: ids_unique[u] owns positions[starts[u] … starts[u + 1]).
template <typename T_>
__global__ void embed_backward_wte(float* dwte, const T_* dres, const int32_t* ids_unique, const int32_t* starts, const int32_t* positions, int C,
                                   float scale) {
  const int u = blockIdx.x;
  const int id = ids_unique[u];
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float s = 0.0f;
    for (int k = starts[u]; k < starts[u + 1]; k++) s += __fmul_rn(to_float(dres[(size_t)positions[k] * C + c]), scale);
    dwte[(size_t)id * C + c] += s;
  }
}

// dwpe[t] += Σ_b dres[b, t] (dwpe already moved by the position offset).
template <typename T_>
__global__ void embed_backward_wpe(float* dwpe, const T_* dres, int B, int T, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)T * C) return;
  const int t = (int)(i / C), c = (int)(i % C);
  float s = 0.0f;
  for (int b = 0; b < B; b++) s += to_float(dres[((size_t)b * T + t) * C + c]);
  dwpe[i] += s;
}

// ---------------------------------------------------------------- LayerNorm

// One warp per row; biased variance; mean and 1/std saved for backward when asked.
template <typename T_>
__global__ void layernorm_forward(T_* out, float* mean, float* rstd, const T_* inp, const float* w, const float* b, int N, int C, float eps) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const T_* x = inp + (size_t)row * C;
  float s = 0.0f;
  for (int i = lane; i < C; i += 32) s += to_float(x[i]);
  const float m = warp_sum(s) / C;
  float v = 0.0f;
  for (int i = lane; i < C; i += 32) {
    const float d = to_float(x[i]) - m;
    v += d * d;
  }
  const float r = 1.0f / sqrtf(warp_sum(v) / C + eps);  // not rsqrtf: the CPU engine's rounding
  T_* o = out + (size_t)row * C;
  for (int i = lane; i < C; i += 32) o[i] = from_float<T_>((to_float(x[i]) - m) * r * w[i] + b[i]);
  if (lane == 0) {
    if (mean) mean[row] = m;
    if (rstd) rstd[row] = r;
  }
}

// dinp += LayerNorm backward of dout (one warp per row). The weight and bias gradients are column
// sums: column_partials with LN_WEIGHT.
template <typename T_>
__global__ void layernorm_backward_input(T_* dinp, const T_* dout, const T_* inp, const float* w, const float* mean, const float* rstd, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= N) return;
  const T_* dy = dout + (size_t)row * C;
  const T_* x = inp + (size_t)row * C;
  const float m = mean[row], s = rstd[row];
  float a = 0.0f, bsum = 0.0f;
  for (int i = lane; i < C; i += 32) {
    const float dnorm = w[i] * to_float(dy[i]);
    a += dnorm;
    bsum += dnorm * (to_float(x[i]) - m) * s;
  }
  const float dnorm_mean = warp_sum(a) / C, dnorm_norm_mean = warp_sum(bsum) / C;
  T_* dx = dinp + (size_t)row * C;
  for (int i = lane; i < C; i += 32) {
    const float norm = (to_float(x[i]) - m) * s;
    const float dnorm = w[i] * to_float(dy[i]);
    dx[i] = from_float<T_>(to_float(dx[i]) + (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s);
  }
}

// ---------------------------------------------------------------- column sums (bias and LayerNorm gradients)

// Stage 1 of a deterministic column sum over N rows: block (32, 8) covers 32 columns of one chunk
// of rows and writes partial[chunk][c]; dout's rows are `ld` apart (C, or 3C for q, k, v's columns
// of dqkv), inp's C. BIAS: Σ dout. LN_WEIGHT: Σ norm·dout into `a` and Σ dout into `b`.
enum ColumnSum { BIAS = 0, LN_WEIGHT = 1 };

template <int MODE, typename T_>
__global__ void column_partials(float* partial_a, float* partial_b, const T_* dout, int ld, const T_* inp, const float* mean, const float* rstd, int N,
                                int C, int rows_per_chunk) {
  __shared__ float sa[8][33], sb[8][33];
  const int c = blockIdx.x * 32 + threadIdx.x;
  const int begin = blockIdx.y * rows_per_chunk, end = min(N, begin + rows_per_chunk);
  float a = 0.0f, b = 0.0f;
  if (c < C) {
    for (int n = begin + threadIdx.y; n < end; n += 8) {
      const float dy = to_float(dout[(size_t)n * ld + c]);
      b += dy;
      if (MODE == LN_WEIGHT) a += (to_float(inp[(size_t)n * C + c]) - mean[n]) * rstd[n] * dy;
    }
  }
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float ta = 0.0f, tb = 0.0f;
    for (int y = 0; y < 8; y++) {
      ta += sa[y][threadIdx.x];
      tb += sb[y][threadIdx.x];
    }
    if (MODE == LN_WEIGHT) partial_a[(size_t)blockIdx.y * C + c] = ta;
    partial_b[(size_t)blockIdx.y * C + c] = tb;
  }
}

// Stage 2: out[c] += Σ_chunk partial[chunk][c] (chunks in order). Null `out` skips.
static __global__ void column_finish(float* out_a, float* out_b, const float* partial_a, const float* partial_b, int chunks, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  if (out_a) {
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += partial_a[(size_t)k * C + c];
    out_a[c] += s;
  }
  if (out_b) {
    float s = 0.0f;
    for (int k = 0; k < chunks; k++) s += partial_b[(size_t)k * C + c];
    out_b[c] += s;
  }
}

// ---------------------------------------------------------------- GELU, residuals

__device__ __forceinline__ float gelu(float x) { return 0.5f * x * (1.0f + tanhf(GELU_SCALE * (x + 0.044715f * x * x * x))); }

// The FFN activation (engine.h's Activation): GPT-2's tanh GELU, XGLM's erf GELU, OPT's ReLU.
__device__ __forceinline__ float activate(float x, int act) {
  if (act == RELU) return x > 0.0f ? x : 0.0f;
  if (act == GELU_ERF) return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  return gelu(x);
}

// d activate / dx (ReLU: 0 at 0, torch's rule).
__device__ __forceinline__ float activate_grad(float x, int act) {
  if (act == RELU) return x > 0.0f ? 1.0f : 0.0f;
  if (act == GELU_ERF) {
    const float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
    return cdf + x * pdf;
  }
  const float t = tanhf(GELU_SCALE * (x + 0.044715f * x * x * x));
  return 0.5f * (1.0f + t) + x * 0.5f * (1.0f - t * t) * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
}

// fch += bias (kept: backward needs the pre-activation), fchg = act(fch). The fc bias rides here
// instead of a pass of its own.
template <typename T_>
__global__ void bias_act_forward(T_* fchg, T_* fch, const float* bias, size_t N, int O, int act) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N * O) return;
  const float x = to_float(fch[i]) + bias[i % O];
  const T_ xs = from_float<T_>(x);
  fch[i] = xs;
  fchg[i] = from_float<T_>(activate(to_float(xs), act));
}

// d = dout · act'(x), in place over dout.
template <typename T_>
__global__ void act_backward(T_* d, const T_* inp, size_t n, int act) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  d[i] = from_float<T_>(activate_grad(to_float(inp[i]), act) * to_float(d[i]));
}

// out = a + x + bias (out may be a): the residual sum with the projection's bias folded in.
template <typename T_>
__global__ void residual_bias(T_* out, const T_* a, const T_* x, const float* bias, size_t N, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= N * C) return;
  out[i] = from_float<T_>(to_float(a[i]) + to_float(x[i]) + bias[i % C]);
}

// ---------------------------------------------------------------- attention (training path)

// qkv [B, T, 3C] (+ the q, k, v biases [C] each: GPT-2's c_attn bias in thirds, or OPT's and
// XGLM's q/k/v_proj biases) → q, k, v [B, H, T, D] each, so each (b, h) is one matrix for the
// batched GEMMs.
template <typename T_>
__global__ void attention_permute(T_* q, T_* k, T_* v, const T_* qkv, const float* qb, const float* kb, const float* vb, int B, int T, int C, int H) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int D = C / H;
  if (i >= (size_t)B * H * T * D) return;
  const int d = (int)(i % D), t = (int)((i / D) % T), h = (int)((i / ((size_t)D * T)) % H), b = (int)(i / ((size_t)D * T * H));
  const size_t src = ((size_t)b * T + t) * 3 * C + h * D + d;
  const int col = h * D + d;
  q[i] = from_float<T_>(to_float(qkv[src]) + qb[col]);
  k[i] = from_float<T_>(to_float(qkv[src + C]) + kb[col]);
  v[i] = from_float<T_>(to_float(qkv[src + 2 * C]) + vb[col]);
}

// [B, H, T, D] → [B, T, C] (heads side by side).
template <typename T_>
__global__ void heads_merge(T_* out, const T_* inp, int B, int T, int C, int H) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int D = C / H;
  if (i >= (size_t)B * H * T * D) return;
  const int d = (int)(i % D), t = (int)((i / D) % T), h = (int)((i / ((size_t)D * T)) % H), b = (int)(i / ((size_t)D * T * H));
  out[((size_t)b * T + t) * C + h * D + d] = inp[i];
}

// [B, T, C] → [B, H, T, D].
template <typename T_>
__global__ void heads_split(T_* out, const T_* inp, int B, int T, int C, int H) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int D = C / H;
  if (i >= (size_t)B * H * T * D) return;
  const int d = (int)(i % D), t = (int)((i / D) % T), h = (int)((i / ((size_t)D * T)) % H), b = (int)(i / ((size_t)D * T * H));
  out[i] = inp[((size_t)b * T + t) * C + h * D + d];
}

// dq, dk, dv [B, H, T, D] → dqkv [B, T, 3C].
template <typename T_>
__global__ void attention_unpermute_grad(T_* dqkv, const T_* dq, const T_* dk, const T_* dv, int B, int T, int C, int H) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int D = C / H;
  if (i >= (size_t)B * H * T * D) return;
  const int d = (int)(i % D), t = (int)((i / D) % T), h = (int)((i / ((size_t)D * T)) % H), b = (int)(i / ((size_t)D * T * H));
  const size_t dst = ((size_t)b * T + t) * 3 * C + h * D + d;
  dqkv[dst] = dq[i];
  dqkv[dst + C] = dk[i];
  dqkv[dst + 2 * C] = dv[i];
}

// Causal softmax over rows of preatt [B·H·T, T] (already scaled by 1/√D): one warp per row,
// masked entries written as 0 so the next GEMM may read the whole row.
template <typename T_>
__global__ void causal_softmax(T_* att, const T_* preatt, int rows, int T) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int t = row % T;  // query position: keys 0 … t are visible
  const T_* x = preatt + (size_t)row * T;
  float m = -FLT_MAX;
  for (int j = lane; j <= t; j += 32) m = fmaxf(m, to_float(x[j]));
  m = warp_max(m);
  float s = 0.0f;
  for (int j = lane; j <= t; j += 32) s += expf(to_float(x[j]) - m);
  const float inv = 1.0f / warp_sum(s);
  T_* y = att + (size_t)row * T;
  for (int j = lane; j < T; j += 32) y[j] = from_float<T_>(j <= t ? expf(to_float(x[j]) - m) * inv : 0.0f);
}

// dpre = att ⊙ (datt − Σ_j att·datt), in place over datt; one warp per row.
template <typename T_>
__global__ void softmax_backward(T_* datt, const T_* att, int rows, int T) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const T_* a = att + (size_t)row * T;
  T_* d = datt + (size_t)row * T;
  float dot = 0.0f;
  for (int j = lane; j < T; j += 32) dot += to_float(a[j]) * to_float(d[j]);
  dot = warp_sum(dot);
  for (int j = lane; j < T; j += 32) d[j] = from_float<T_>(to_float(a[j]) * (to_float(d[j]) - dot));
}

// ---------------------------------------------------------------- the loss rows

// rows[r] (a position n = b·T + t − 1) → hrows[r] = lnf[n]; and the reverse for the gradient.
template <typename T_>
__global__ void gather_rows(T_* out, const T_* inp, const int32_t* rows, int M, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)M * C) return;
  out[i] = inp[(size_t)rows[i / C] * C + i % C];
}

template <typename T_>
__global__ void scatter_rows(T_* out, const T_* inp, const int32_t* rows, int M, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)M * C) return;
  out[(size_t)rows[i / C] * C + i % C] = inp[i];
}

// The last position of each row: out[b] = inp[b·T + T − 1].
template <typename T_>
__global__ void gather_last(T_* out, const T_* inp, int B, int T, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)B * C) return;
  const int b = (int)(i / C);
  out[i] = inp[((size_t)b * T + T - 1) * C + i % C];
}

// Per loss row: log-sum-exp of the logits and log p(target), from the logit (exact even when p
// underflows). One block per row.
// The padded columns V … Vp − 1 (row stride Vp) are left out, as llm.c leaves them.
static __global__ void logsoftmax_rows(float* lse, float* logp, const float* logits, const int32_t* targets, int V, int Vp) {
  __shared__ float scratch[32];
  const int r = blockIdx.x;
  const float* z = logits + (size_t)r * Vp;
  float m = -FLT_MAX;
  for (int i = threadIdx.x; i < V; i += blockDim.x) m = fmaxf(m, z[i]);
  m = block_max(m, scratch);
  float s = 0.0f;
  for (int i = threadIdx.x; i < V; i += blockDim.x) s += expf(z[i] - m);
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) {
    const float l = m + logf(s);
    lse[r] = l;
    logp[r] = (z[targets[r]] - m) - logf(s);
  }
}

// dlogits[r] = scale[r] · (softmax(z_r) − onehot(target_r)) over the V real columns, and exactly 0
// in the padded ones (so dwte's padded rows stay 0); dlogits may alias logits (float). Rows Vp apart.
template <typename T_>
__global__ void crossentropy_backward(T_* dlogits, const float* logits, const float* lse, const int32_t* targets, const float* scale, int V, int Vp) {
  const int r = blockIdx.x;
  const float* z = logits + (size_t)r * Vp;
  T_* d = dlogits + (size_t)r * Vp;
  const float l = lse[r], s = scale[r];
  const int target = targets[r];
  for (int i = threadIdx.x; i < Vp; i += blockDim.x)
    d[i] = from_float<T_>(i < V ? s * (expf(z[i] - l) - (i == target ? 1.0f : 0.0f)) : 0.0f);
}

// ---------------------------------------------------------------- precision copies

static __global__ void to_bf16(__nv_bfloat16* out, const float* inp, size_t n) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16(inp[i]);
}

template <typename T_>
__global__ void to_float_array(float* out, const T_* inp, size_t n) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = to_float(inp[i]);
}

}  // namespace rdlab_cuda
