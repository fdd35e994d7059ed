// KV-cached decoding and the token choice on the GPU.
//
// Cache layout [L, B, H, cap, D] (cap ≥ positions fed so far). Decoding n new tokens of B rows at
// positions pos … pos + n − 1: qkv of the new tokens → the cache and a query buffer, then each
// query attends to the keys up to its own position.
//
// Sampling follows sampler.ts's sampleRow token for token: the raw row's max and Σ exp give the
// model's log p; scores are the logits with the CTRL penalty on tokens already in the row;
// greedy takes the first argmax; otherwise top-k keeps scores ≥ the k-th largest (ties kept),
// weights exp((score − max)/temperature), and one uniform u walks u·total down by each weight in
// index order, taking the first token where it goes below 0 (the last positive weight when
// rounding leaves it a hair above). Scores and weights are doubles, as in JavaScript. The uniforms
// come from the same xoshiro128** stream, one per unfinished row in row order.
//
// The weights are computed in parallel, but the sums (Σ exp of the raw row, the total) and the
// walk are one thread's sequential loop in index order: sampleRow's (and native/src/sampler.cc's)
// arithmetic operation for operation, so the choice never depends on a summation order. (A
// parallel prefix sum decides a different token whenever its rounding puts u·total on the other
// side of a boundary.) What may still differ is exp itself in the last bit (CUDA's vs V8's).
#pragma once
#include "common.cuh"

namespace rdlab_cuda {

// qkv [B·n, 3C] (+ the q, k, v biases) → q [B, H, n, D]; k, v into the cache at positions
// pos … pos + n − 1.
template <typename T_>
__global__ void kv_store(T_* q, T_* kcache, T_* vcache, const T_* qkv, const float* qb, const float* kb, const float* vb, int B, int n, int C, int H, int pos,
                         int cap) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  const int D = C / H;
  if (i >= (size_t)B * H * n * D) return;
  const int d = (int)(i % D), j = (int)((i / D) % n), h = (int)((i / ((size_t)D * n)) % H), b = (int)(i / ((size_t)D * n * H));
  const size_t src = ((size_t)b * n + j) * 3 * C + h * D + d;
  const int col = h * D + d;
  q[i] = from_float<T_>(to_float(qkv[src]) + qb[col]);
  const size_t dst = (((size_t)b * H + h) * cap + pos + j) * D + d;
  kcache[dst] = from_float<T_>(to_float(qkv[src + C]) + kb[col]);
  vcache[dst] = from_float<T_>(to_float(qkv[src + 2 * C]) + vb[col]);
}

// One block per (b·H + h, j): query j (at position pos + j) over keys 0 … pos + j. Each warp takes
// keys in turn (its lanes split the head width, so a key row is one coalesced read); then the
// block's threads split the head width for Σ p·v. Dynamic shared memory: D + cap floats.
template <typename T_>
__global__ void decode_attention(T_* out, const T_* q, const T_* kcache, const T_* vcache, int B, int n, int C, int H, int pos, int cap) {
  extern __shared__ float shm[];
  __shared__ float scratch[32];
  const int D = C / H;
  const int bh = blockIdx.x, j = blockIdx.y;
  const int b = bh / H, h = bh % H;
  const int S = pos + j + 1;
  float* qs = shm;
  float* scores = shm + D;
  const T_* qrow = q + (((size_t)b * H + h) * n + j) * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) qs[d] = to_float(qrow[d]);
  __syncthreads();
  const float scale = 1.0f / sqrtf((float)D);
  const T_* K = kcache + ((size_t)b * H + h) * cap * D;
  const T_* Vc = vcache + ((size_t)b * H + h) * cap * D;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int s = warp; s < S; s += warps) {
    float dot = 0.0f;
    for (int d = lane; d < D; d += 32) dot += qs[d] * to_float(K[(size_t)s * D + d]);
    dot = warp_sum(dot);
    if (lane == 0) scores[s] = dot * scale;
  }
  __syncthreads();
  float m = -FLT_MAX;
  for (int s = threadIdx.x; s < S; s += blockDim.x) m = fmaxf(m, scores[s]);
  m = block_max(m, scratch);
  float sum = 0.0f;
  for (int s = threadIdx.x; s < S; s += blockDim.x) {
    const float e = expf(scores[s] - m);
    scores[s] = e;
    sum += e;
  }
  sum = block_sum(sum, scratch);  // synchronises: every score is written
  const float inv = 1.0f / sum;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float acc = 0.0f;
    for (int s = 0; s < S; s++) acc += scores[s] * to_float(Vc[(size_t)s * D + d]);
    out[((size_t)b * n + j) * C + h * D + d] = from_float<T_>(acc * inv);
  }
}

// Grows the cache from cap to cap2 positions, keeping the first `pos`.
template <typename T_>
__global__ void kv_copy(T_* dst, const T_* src, size_t rows, int cap, int cap2, int pos, int D) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= rows * pos * D) return;
  const size_t r = i / ((size_t)pos * D);
  const size_t rest = i % ((size_t)pos * D);
  dst[r * cap2 * D + rest] = src[r * cap * D + rest];
}

// ---------------------------------------------------------------- sampling

struct Xoshiro128 {
  uint32_t s[4];
  __device__ static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
  __device__ uint32_t next() {
    const uint32_t result = rotl(s[1] * 5u, 7) * 9u;
    const uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  // Rng.uniform(): 53 bits from two draws.
  __device__ double uniform() {
    const uint32_t a = next() >> 5, b = next() >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
  }
};

// One thread: a uniform for each unfinished row, in row order, as sampler.ts draws them.
__global__ void draw_uniforms(uint32_t* state, const uint8_t* done, double* u, int B) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  Xoshiro128 g{{state[0], state[1], state[2], state[3]}};
  for (int b = 0; b < B; b++)
    if (!done[b]) u[b] = g.uniform();
  for (int i = 0; i < 4; i++) state[i] = g.s[i];
}

// Marks the prefix tokens as seen (the repetition penalty's set).
__global__ void mark_seen(uint8_t* seen, const int32_t* prefixes, int B, int p, int V) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= B * p) return;
  const int id = prefixes[i];
  if (id >= 0 && id < V) seen[(size_t)(i / p) * V + id] = 1;
}

struct SampleStep {
  const float* logits;  // [B, Vp]: V real columns, rows Vp apart (the padded vocabulary)
  double* raw;          // [B, Vp] scratch: exp(row − max), the model's own weights
  double* weights;      // [B, Vp] scratch: the sampling distribution's weights
  int V, Vp, T, t, eos, top_k;
  double temperature, penalty;
  uint8_t* seen;  // [B, V], null when the penalty is off
  uint8_t* done;  // [B]
  const double* u;
  int32_t* next_ids;  // [B]: what the decoder is fed next
  int32_t* ids;       // [B, T]
  float *mask, *token_logprobs, *sampling_logprobs;
  int* done_count;
};

__device__ __forceinline__ uint64_t order_key(double x) {
  const uint64_t b = (uint64_t)__double_as_longlong(x);
  return (b >> 63) ? ~b : (b | 0x8000000000000000ull);
}
__device__ __forceinline__ double key_value(uint64_t k) {
  const uint64_t b = (k >> 63) ? (k & 0x7fffffffffffffffull) : ~k;
  return __longlong_as_double((long long)b);
}

// One block (SAMPLE_THREADS threads) per row.
constexpr int SAMPLE_THREADS = 1024;

__global__ void __launch_bounds__(SAMPLE_THREADS) sample_rows(SampleStep a) {
  __shared__ double dscratch[32];
  __shared__ float fscratch[32];
  __shared__ unsigned hist[256];
  __shared__ uint64_t sel_prefix, sel_mask;
  __shared__ int sel_remaining, s_token;
  __shared__ double s_raw_sum, s_sampling_logprob;
  const int b = blockIdx.x, tid = threadIdx.x, V = a.V;
  if (a.done[b]) {
    if (tid == 0) a.next_ids[b] = a.eos;
    return;
  }
  const float* row = a.logits + (size_t)b * a.Vp;
  double* raw = a.raw + (size_t)b * a.Vp;
  double* w = a.weights + (size_t)b * a.Vp;
  const uint8_t* seen = a.seen ? a.seen + (size_t)b * V : nullptr;
  const double pen = a.penalty;
  auto score = [&](int i) -> double {
    double x = (double)row[i];
    if (seen && seen[i]) x = x < 0 ? x * pen : x / pen;
    return x;
  };

  // The model's own distribution: the raw row's max (a float, compared as sampleRow does) and
  // exp(row − max) per token; summed below in index order.
  float mx = -FLT_MAX;
  for (int i = tid; i < V; i += blockDim.x) mx = fmaxf(mx, row[i]);
  mx = block_max(mx, fscratch);
  for (int i = tid; i < V; i += blockDim.x) raw[i] = exp((double)row[i] - (double)mx);

  const bool greedy = a.temperature == 0;
  if (greedy) {
    // Greedy: the first index of the largest score.
    double best = -DBL_MAX;
    int best_i = V;
    for (int i = tid; i < V; i += blockDim.x) {
      const double s = score(i);
      if (s > best) {
        best = s;
        best_i = i;
      }
    }
    // (value, index) reduction: larger value wins, the lower index on ties.
    for (int o = 16; o > 0; o >>= 1) {
      const double ov = __shfl_xor_sync(0xffffffffu, best, o);
      const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
      if (ov > best || (ov == best && oi < best_i)) {
        best = ov;
        best_i = oi;
      }
    }
    __shared__ double wv[32];
    __shared__ int wi[32];
    if (tid % 32 == 0) {
      wv[tid / 32] = best;
      wi[tid / 32] = best_i;
    }
    __syncthreads();
    best = wv[0];
    best_i = wi[0];
    for (int k = 1; k < (int)blockDim.x / 32; k++)
      if (wv[k] > best || (wv[k] == best && wi[k] < best_i)) {
        best = wv[k];
        best_i = wi[k];
      }
    if (tid == 0) s_token = best_i;
    for (int i = tid; i < V; i += blockDim.x) w[i] = exp(score(i) - best);
  } else {
    // Top-k cutoff: the k-th largest score, found by radix selection on order-preserving keys
    // (exact, ties included as sampler.ts's quickselect gives them).
    double cutoff = -INFINITY;
    if (a.top_k > 0 && a.top_k < V) {
      if (tid == 0) {
        sel_prefix = 0;
        sel_mask = 0;
        sel_remaining = a.top_k;
      }
      for (int shift = 56; shift >= 0; shift -= 8) {
        for (int d = tid; d < 256; d += blockDim.x) hist[d] = 0;
        __syncthreads();
        const uint64_t prefix = sel_prefix, mask = sel_mask;
        for (int i = tid; i < V; i += blockDim.x) {
          const uint64_t k = order_key(score(i));
          if ((k & mask) == prefix) atomicAdd(&hist[(k >> shift) & 255], 1u);
        }
        __syncthreads();
        if (tid == 0) {
          int remaining = sel_remaining, d = 255;
          for (; d > 0; d--) {
            if ((int)hist[d] >= remaining) break;
            remaining -= hist[d];
          }
          sel_remaining = remaining;
          sel_prefix = prefix | ((uint64_t)d << shift);
          sel_mask = mask | (255ull << shift);
        }
        __syncthreads();
      }
      cutoff = key_value(sel_prefix);
    }
    double smax = -DBL_MAX;
    for (int i = tid; i < V; i += blockDim.x) smax = fmax(smax, score(i));
    for (int o = 16; o > 0; o >>= 1) smax = fmax(smax, __shfl_xor_sync(0xffffffffu, smax, o));
    __syncthreads();
    if (tid % 32 == 0) dscratch[tid / 32] = smax;
    __syncthreads();
    smax = -DBL_MAX;
    for (int k = 0; k < (int)blockDim.x / 32; k++) smax = fmax(smax, dscratch[k]);
    const double temp = a.temperature;
    for (int i = tid; i < V; i += blockDim.x) {
      const double x = score(i);
      w[i] = x >= cutoff ? exp((x - smax) / temp) : 0.0;
    }
  }
  __syncthreads();  // every raw[i] and w[i] is written (global memory, visible within the block)
  if (tid == 0) {
    // sampleRow's sums and `draw`, in its order: one thread, index order, so the rounding is its.
    double raw_sum = 0.0, total = 0.0;
    for (int i = 0; i < V; i++) {
      raw_sum += raw[i];
      total += w[i];
    }
    s_raw_sum = raw_sum;
    if (greedy) {
      s_sampling_logprob = -log(total);
    } else {
      double u = a.u[b] * total;
      int token = -1;
      for (int i = 0; i < V; i++) {
        u -= w[i];
        if (u < 0) {
          token = i;
          break;
        }
      }
      if (token < 0) {
        token = V - 1;
        for (int i = V - 1; i >= 0; i--)
          if (w[i] > 0) {
            token = i;  // rounding left u a hair above 0
            break;
          }
      }
      s_token = token;
      s_sampling_logprob = log(w[token] / total);
    }
  }
  __syncthreads();
  const int token = s_token;
  const double raw_sum = s_raw_sum;
  const double sampling_logprob = s_sampling_logprob;
  if (tid == 0) {
    const double logprob = (double)row[token] - (double)mx - log(raw_sum);
    const size_t at = (size_t)b * a.T + a.t;
    a.ids[at] = token;
    a.mask[at] = 1.0f;
    a.token_logprobs[at] = (float)logprob;
    const bool plain = a.temperature == 1 && !a.seen && !(a.top_k > 0 && a.top_k < V);
    a.sampling_logprobs[at] = (float)(plain ? logprob : sampling_logprob);
    a.next_ids[b] = token;
    if (a.seen) a.seen[(size_t)b * V + token] = 1;
    if (token == a.eos) {
      a.done[b] = 1;
      atomicAdd(a.done_count, 1);
    }
  }
}

}  // namespace rdlab_cuda
