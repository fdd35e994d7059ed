// The kernels BERT needs beyond the decoders' (kernels.cuh): its embedding sum, the softmax with a
// key padding mask instead of the causal one, the first token's gather and the pooler's bias +
// tanh. Inference only (the CUDA BERT scores; fine-tuning stays on the CPU engines).
//
// Row-major. Legend: B batch, T positions, N = B·T rows, C hidden size, H heads, K labels.
// `T_` is the activation type (float or bfloat16); parameters are float.
#pragma once
#include "common.cuh"

namespace rdlab_cuda {

// out[n] = LayerNorm input: word[ids[n]] + position[n % T] + token_type[0] (one-segment inputs,
// token_type_ids all 0 as the authors score). Summed in float in native/src/bert.cc's order.
template <typename T_>
__global__ void bert_embed(T_* out, const int32_t* ids, const float* word, const float* pos, const float* type0, int N, int T, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)N * C) return;
  const int n = (int)(i / C), c = (int)(i % C);
  out[i] = from_float<T_>(__fadd_rn(__fadd_rn(word[(size_t)ids[n] * C + c], pos[(size_t)(n % T) * C + c]), type0[c]));
}

// Softmax over rows of preatt [B·H·T, T] (already scaled by 1/√D) where row (b, h, t) sees the
// keys j < lengths[b]: modeling_bert.py adds the dtype's minimum to the masked scores (the
// extended attention mask), whose softmax weight is exactly 0 in float32, so leaving them out is
// the same. Masked entries are written as 0 so the next GEMM may read the whole row; padded query
// rows are computed too, as transformers does (nothing downstream of the first token reads them).
// One warp per row.
template <typename T_>
__global__ void key_padding_softmax(T_* att, const T_* preatt, const int32_t* lengths, int rows, int T, int H) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (row >= rows) return;
  const int S = lengths[row / (H * T)];  // 1 ≤ S ≤ T (the host clamps, as bert.cc does)
  const T_* x = preatt + (size_t)row * T;
  float m = -FLT_MAX;
  for (int j = lane; j < S; j += 32) m = fmaxf(m, to_float(x[j]));
  m = warp_max(m);
  float s = 0.0f;
  for (int j = lane; j < S; j += 32) s += expf(to_float(x[j]) - m);
  const float inv = 1.0f / warp_sum(s);
  T_* y = att + (size_t)row * T;
  for (int j = lane; j < T; j += 32) y[j] = from_float<T_>(j < S ? expf(to_float(x[j]) - m) * inv : 0.0f);
}

// out[b] = inp[b·T] (BertPooler reads hidden_states[:, 0]), as float: the pooler and the
// classifier run in float whatever the activation type (a [B, C] head; the logits are R's signal).
template <typename T_>
__global__ void gather_first(float* out, const T_* inp, int B, int T, int C) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)B * C) return;
  out[i] = to_float(inp[(size_t)(i / C) * T * C + i % C]);
}

// x[r, o] = (tanh)(x[r, o] + bias[o]): the pooler (tanh) and the classifier (none).
static __global__ void bias_rows(float* x, const float* bias, int R, int O, bool apply_tanh) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= (size_t)R * O) return;
  const float y = x[i] + bias[i % O];
  x[i] = apply_tanh ? tanhf(y) : y;
}

}  // namespace rdlab_cuda
