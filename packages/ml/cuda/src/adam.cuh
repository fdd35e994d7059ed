// Adam with global gradient-norm clipping over runs of the flat parameter buffer, as the CPU
// engine (native/src/adam.h) and torch.optim.Adam + clip_grad_norm_ compute them. The norm is
// summed in double in a fixed order (per-block partials, then one block), so it is reproducible,
// and the clip scale is read on the GPU: no round trip before the update.
#pragma once
#include "common.cuh"

namespace rdlab_cuda {

constexpr int NORM_BLOCKS = 256, NORM_THREADS = 256;

// partial[blockIdx] = Σ g² over a grid-stride share of g[0 … n).
__global__ void square_partials(double* partial, const float* g, size_t n) {
  __shared__ double scratch[32];
  double s = 0.0;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) s += (double)g[i] * g[i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// out[k] = Σ partial[k·per … (k + 1)·per), one block per k.
__global__ void sum_partials(double* out, const double* partial, int per) {
  __shared__ double scratch[32];
  double s = 0.0;
  for (int i = threadIdx.x; i < per; i += blockDim.x) s += partial[(size_t)blockIdx.x * per + i];
  s = block_sum(s, scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = s;
}

// Adam on one run of tensors; the gradient is scaled by min(1, clip / (‖g‖ + 1e-6)) when clipping.
// `clip` is a double, as adam.h computes the scale: a float clip changed the scale's last bit for
// values such as 0.1, and turned clipping off for a positive clip below float's range.
__global__ void adam_update(float* p, const float* g, float* m, float* v, size_t n, const double* norm_sq, double clip, float b1, float b2,
                            float eps, float step_size, float c2sqrt) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float scale = clip > 0 ? (float)fmin(1.0, clip / (sqrt(*norm_sq) + 1e-6)) : 1.0f;
  const float gi = g[i] * scale;
  const float mi = b1 * m[i] + (1.0f - b1) * gi;
  const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= step_size * mi / (sqrtf(vi) / c2sqrt + eps);
}

}  // namespace rdlab_cuda
