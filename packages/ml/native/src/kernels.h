// Building blocks of the native engine: GEMM through CBLAS, and the row-wise kernels of GPT-2
// (LayerNorm, GELU, attention: causal, or with BERT's key padding mask) with their backward
// passes, after llm.c.
//
// Layout is row-major throughout. Legend: N rows (B·T), C width, B batch, T positions,
// H heads, D = C/H head width.
#pragma once
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rdlab {

// Loops smaller than this many floats run on one thread: waking a pool costs more than they do
// (decoding one token for a batch is hundreds of such loops).
constexpr size_t PARALLEL_MIN = 1 << 15;

// out[N,O] (+)= inp[N,I] · W[I,O] (+ bias[O]); W stored [in, out] as GPT-2's Conv1D.
inline void matmul_forward(float* out, const float* inp, const float* W, const float* bias, int N, int I, int O) {
  if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)N * O >= PARALLEL_MIN)
    for (int n = 0; n < N; n++) std::memcpy(out + (size_t)n * O, bias, sizeof(float) * O);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, O, I, 1.0f, inp, I, W, O, bias ? 1.0f : 0.0f, out, O);
}

// Given dout[N,O]: dinp[N,I] += dout · Wᵀ, dW[I,O] += inpᵀ · dout, dbias[O] += Σₙ dout.
inline void matmul_backward(float* dinp, float* dW, float* dbias, const float* dout, const float* inp, const float* W, int N, int I, int O,
                            bool accumulate_dinp) {
  if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, I, O, 1.0f, dout, O, W, O, accumulate_dinp ? 1.0f : 0.0f, dinp, I);
  if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, I, O, N, 1.0f, inp, I, dout, O, 1.0f, dW, O);
  if (dbias) {
#pragma omp parallel for schedule(static) if ((size_t)N * O >= PARALLEL_MIN)
    for (int o = 0; o < O; o++) {
      float sum = 0.0f;
      for (int n = 0; n < N; n++) sum += dout[(size_t)n * O + o];
      dbias[o] += sum;
    }
  }
}

// LayerNorm over C with biased variance; saves mean and 1/std per row for the backward pass.
inline void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b, int N, int C, float eps) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PARALLEL_MIN)
  for (int n = 0; n < N; n++) {
    const float* x = inp + (size_t)n * C;
    float m = 0.0f;
    for (int i = 0; i < C; i++) m += x[i];
    m /= C;
    float v = 0.0f;
    for (int i = 0; i < C; i++) {
      float d = x[i] - m;
      v += d * d;
    }
    v /= C;
    float s = 1.0f / std::sqrt(v + eps);
    float* o = out + (size_t)n * C;
    for (int i = 0; i < C; i++) o[i] = (x[i] - m) * s * w[i] + b[i];
    if (mean) mean[n] = m;
    if (rstd) rstd[n] = s;
  }
}

// dinp += LN backward; dw, db accumulate over rows (column-parallel, so the sums are deterministic).
inline void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w, const float* mean,
                               const float* rstd, int N, int C) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PARALLEL_MIN)
  for (int n = 0; n < N; n++) {
    const float* dy = dout + (size_t)n * C;
    const float* x = inp + (size_t)n * C;
    float m = mean[n], s = rstd[n];
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int i = 0; i < C; i++) {
      float norm = (x[i] - m) * s;
      float dnorm = w[i] * dy[i];
      dnorm_mean += dnorm;
      dnorm_norm_mean += dnorm * norm;
    }
    dnorm_mean /= C;
    dnorm_norm_mean /= C;
    float* dx = dinp + (size_t)n * C;
    for (int i = 0; i < C; i++) {
      float norm = (x[i] - m) * s;
      float dnorm = w[i] * dy[i];
      dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * s;
    }
  }
  if (dw || db) {
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PARALLEL_MIN)
    for (int i = 0; i < C; i++) {
      float sw = 0.0f, sb = 0.0f;
      for (int n = 0; n < N; n++) {
        float dy = dout[(size_t)n * C + i];
        sw += (inp[(size_t)n * C + i] - mean[n]) * rstd[n] * dy;
        sb += dy;
      }
      if (dw) dw[i] += sw;
      if (db) db[i] += sb;
    }
  }
}

// e^x in single precision, vectorisable (Cephes expf: range reduction by ln 2, degree-5
// polynomial, 2^n through the exponent bits; relative error ≈ 2e-7). libm's expf and tanhf are
// calls the compiler cannot vectorise, and GELU's tanh was a third of a training step.
#pragma omp declare simd
inline float fast_exp(float x) {
  // Branch-free clamps, floor and exponent bits, so the loops that call this vectorise.
  x = x > 88.3f ? 88.3f : x;
  x = x < -87.3f ? -87.3f : x;
  const float t = x * 1.44269504088896341f + 0.5f;
  int32_t n = (int32_t)t;
  n -= (float)n > t ? 1 : 0;
  const float nf = (float)n;
  float r = x - nf * 0.693359375f + nf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  const int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

// tanh(u) = 1 − 2 / (e^{2u} + 1): absolute error ≈ 1e-7, exact limits ±1.
#pragma omp declare simd
inline float fast_tanh(float u) {
  return 1.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f);
}

constexpr float GELU_SCALE = 0.7978845608028654f;  // √(2/π)

// Runs `body(begin, count)` over [0, n) in chunks, on threads when n is large. Each chunk's
// inner loop is a plain `omp simd` loop the compiler vectorises.
template <typename Body>
inline void for_chunks(size_t n, Body body) {
  constexpr size_t CHUNK = 4096;
  const long chunks = (long)((n + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN)
  for (long c = 0; c < chunks; c++) {
    const size_t begin = (size_t)c * CHUNK;
    body(begin, std::min(CHUNK, n - begin));
  }
}

inline void gelu_forward(float* out, const float* inp, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
    const float* x = inp + begin;
    float* y = out + begin;
#pragma omp simd
    for (size_t i = 0; i < count; i++) y[i] = 0.5f * x[i] * (1.0f + fast_tanh(GELU_SCALE * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
  });
}

// dinp = dout · gelu'(inp) (overwrites).
inline void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
    const float* x = inp + begin;
    const float* dy = dout + begin;
    float* dx = dinp + begin;
#pragma omp simd
    for (size_t i = 0; i < count; i++) {
      const float v = x[i];
      const float t = fast_tanh(GELU_SCALE * (v + 0.044715f * v * v * v));
      const float sech2 = 1.0f - t * t;
      const float grad = 0.5f * (1.0f + t) + v * 0.5f * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * v * v);
      dx[i] = grad * dy[i];
    }
  });
}

// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7) over fast_exp, so the erf
// GELU of OPT-style configs and XGLM (`gelu`, transformers' GELUActivation) vectorises as the
// tanh one does; std::erf is a libm call.
#pragma omp declare simd
inline float fast_erf(float x) {
  const float a = x < 0.0f ? -x : x;
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  const float y = 1.0f - poly * fast_exp(-a * a);
  return x < 0.0f ? -y : y;
}

// GELU with erf: 0.5·x·(1 + erf(x/√2)) (XGLM's `gelu`).
inline void gelu_erf_forward(float* out, const float* inp, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
    const float* x = inp + begin;
    float* y = out + begin;
#pragma omp simd
    for (size_t i = 0; i < count; i++) y[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * 0.70710678118654752f));
  });
}

// dinp = dout · (Φ(x) + x·φ(x)) (overwrites).
inline void gelu_erf_backward(float* dinp, const float* inp, const float* dout, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
    const float* x = inp + begin;
    const float* dy = dout + begin;
    float* dx = dinp + begin;
#pragma omp simd
    for (size_t i = 0; i < count; i++) {
      const float v = x[i];
      const float cdf = 0.5f * (1.0f + fast_erf(v * 0.70710678118654752f));
      const float pdf = 0.39894228040143268f * fast_exp(-0.5f * v * v);
      dx[i] = (cdf + v * pdf) * dy[i];
    }
  });
}

// ReLU (OPT's `relu`); the backward passes dout where the input was positive (torch's rule: 0 at 0).
inline void relu_forward(float* out, const float* inp, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
#pragma omp simd
    for (size_t i = 0; i < count; i++) out[begin + i] = inp[begin + i] > 0.0f ? inp[begin + i] : 0.0f;
  });
}

inline void relu_backward(float* dinp, const float* inp, const float* dout, size_t n) {
  for_chunks(n, [=](size_t begin, size_t count) {
#pragma omp simd
    for (size_t i = 0; i < count; i++) dinp[begin + i] = inp[begin + i] > 0.0f ? dout[begin + i] : 0.0f;
  });
}

// out[N,O] (row stride ldo) = inp[N,I] · Wᵀ + bias[O]; W stored [out, in] as torch.nn.Linear
// (OPT, XGLM). ldo > O writes q, k and v side by side into the [N, 3C] buffer attention reads.
inline void linear_forward(float* out, int ldo, const float* inp, const float* W, const float* bias, int N, int I, int O) {
  if (bias) {
#pragma omp parallel for schedule(static) if ((size_t)N * O >= PARALLEL_MIN)
    for (int n = 0; n < N; n++) std::memcpy(out + (size_t)n * ldo, bias, sizeof(float) * O);
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, I, 1.0f, inp, I, W, I, bias ? 1.0f : 0.0f, out, ldo);
}

// Given dout[N,O] (row stride ldd): dinp[N,I] (+)= dout · W, dW[O,I] += doutᵀ · inp, dbias[O] += Σₙ dout.
inline void linear_backward(float* dinp, float* dW, float* dbias, const float* dout, int ldd, const float* inp, const float* W, int N, int I, int O,
                            bool accumulate_dinp) {
  if (dinp) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, I, O, 1.0f, dout, ldd, W, I, accumulate_dinp ? 1.0f : 0.0f, dinp, I);
  if (dW) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, O, I, N, 1.0f, dout, ldd, inp, I, 1.0f, dW, I);
  if (dbias) {
#pragma omp parallel for schedule(static) if ((size_t)N * O >= PARALLEL_MIN)
    for (int o = 0; o < O; o++) {
      float sum = 0.0f;
      for (int n = 0; n < N; n++) sum += dout[(size_t)n * ldd + o];
      dbias[o] += sum;
    }
  }
}

// Self-attention over qkv [B,T,3C] (q | k | v, heads of D contiguous), saving the
// probabilities att [B,H,T,T]. Query t of row b attends to the keys [0, keys): causal (the
// decoders) without `lengths`, keys = t + 1; with `lengths` (BERT's key padding mask), keys =
// lengths[b] for every query. modeling_bert.py adds the dtype's minimum to masked scores, whose
// softmax weight is exactly 0 in float32, so leaving those keys out is the same. Parallel over
// (b, h): each pair owns its rows.
inline int attention_keys(const int32_t* lengths, int b, int t) { return lengths ? lengths[b] : t + 1; }

inline void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int H, const int32_t* lengths = nullptr) {
  const int D = C / H;
  const float scale = 1.0f / std::sqrt((float)D);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      for (int t = 0; t < T; t++) {
        const int keys = attention_keys(lengths, b, t);
        const float* q = qkv + ((size_t)b * T + t) * 3 * C + h * D;
        float* a = att + (((size_t)b * H + h) * T + t) * T;
        float maxv = -1e30f;
        for (int t2 = 0; t2 < keys; t2++) {
          const float* k = qkv + ((size_t)b * T + t2) * 3 * C + C + h * D;
          float dot = 0.0f;
          for (int i = 0; i < D; i++) dot += q[i] * k[i];
          dot *= scale;
          a[t2] = dot;
          if (dot > maxv) maxv = dot;
        }
        float sum = 0.0f;
        for (int t2 = 0; t2 < keys; t2++) {
          float e = std::exp(a[t2] - maxv);
          a[t2] = e;
          sum += e;
        }
        float inv = 1.0f / sum;
        for (int t2 = 0; t2 < T; t2++) a[t2] = t2 < keys ? a[t2] * inv : 0.0f;
        float* o = out + ((size_t)b * T + t) * C + h * D;
        for (int i = 0; i < D; i++) o[i] = 0.0f;
        for (int t2 = 0; t2 < keys; t2++) {
          const float* v = qkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * D;
          float p = a[t2];
          for (int i = 0; i < D; i++) o[i] += p * v[i];
        }
      }
    }
  }
}

// dqkv (overwritten) from dout [B,T,C]; scratch holds T floats per (b, h).
inline void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, float* scratch, int B, int T, int C, int H,
                               const int32_t* lengths = nullptr) {
  const int D = C / H;
  const float scale = 1.0f / std::sqrt((float)D);
  std::memset(dqkv, 0, sizeof(float) * (size_t)B * T * 3 * C);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; b++) {
    for (int h = 0; h < H; h++) {
      float* datt = scratch + ((size_t)b * H + h) * T;
      for (int t = 0; t < T; t++) {
        const float* a = att + (((size_t)b * H + h) * T + t) * T;
        const float* dy = dout + ((size_t)b * T + t) * C + h * D;
        const float* q = qkv + ((size_t)b * T + t) * 3 * C + h * D;
        float* dq = dqkv + ((size_t)b * T + t) * 3 * C + h * D;
        const int keys = attention_keys(lengths, b, t);
        // through out = Σ att·v
        float weighted = 0.0f;
        for (int t2 = 0; t2 < keys; t2++) {
          const float* v = qkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * D;
          float* dv = dqkv + ((size_t)b * T + t2) * 3 * C + 2 * C + h * D;
          float d = 0.0f;
          for (int i = 0; i < D; i++) {
            d += v[i] * dy[i];
            dv[i] += a[t2] * dy[i];
          }
          datt[t2] = d;
          weighted += a[t2] * d;
        }
        // through the softmax, then the scaled dot products
        for (int t2 = 0; t2 < keys; t2++) {
          float dpre = a[t2] * (datt[t2] - weighted) * scale;
          const float* k = qkv + ((size_t)b * T + t2) * 3 * C + C + h * D;
          float* dk = dqkv + ((size_t)b * T + t2) * 3 * C + C + h * D;
          for (int i = 0; i < D; i++) {
            dq[i] += dpre * k[i];
            dk[i] += dpre * q[i];
          }
        }
      }
    }
  }
}

}  // namespace rdlab
