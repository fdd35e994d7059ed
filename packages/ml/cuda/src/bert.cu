// The BERT reward model on one GPU, for scoring: transformers' BertForSequenceClassification
// (modeling_bert.py) forward, batched over right-padded rows with a key padding mask. It mirrors
// native/src/bert.cc step for step so the engines stay comparable: embeddings (word + position +
// token type 0) → LayerNorm → post-LN encoder blocks (bidirectional self-attention → dense →
// residual → LayerNorm; intermediate dense → erf GELU → dense → residual → LayerNorm) → pooler
// (dense + tanh on the first token) → classifier dense (dropout is the identity at inference).
// The GEMMs, LayerNorm, GELU, residual and attention layout kernels are the decoders'
// (matmul.cuh, kernels.cuh); weights are torch Linear [out, in], as the checkpoint stores them.
//
// Inference only: no gradients, no Adam state, no saved activations (fine-tuning stays on the CPU
// engines). Precision as the decoder's: fp32, tf32 (TF32 GEMMs) or bf16 (bf16 activations and GEMM
// inputs from a bf16 copy of the weights; LayerNorm, biases and embeddings read the fp32 ones). The
// pooler and the classifier run in float in every mode: a [B, C] head whose logits are R's signal.
//
// Legend: B batch, T positions, N = B·T rows, C hidden size, H heads, D = C/H, F intermediate
// size, K labels. T_ is the activation type.
#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "bert.cuh"
#include "common.cuh"
#include "engine.h"
#include "kernels.cuh"
#include "matmul.cuh"

namespace rdlab_cuda {
namespace {

constexpr int THREADS = 256;
constexpr int ROWS_PER_BLOCK = THREADS / 32;  // the warp-per-row kernels

int grid_for(size_t n) { return ceil_div(n, THREADS); }

template <typename T_>
class Bert final : public BertEngine {
 public:
  Bert(const BertConfig& config, const float* host_params, Precision precision) : c_(config), precision_(precision) {
    if (c_.H <= 0 || c_.C % c_.H != 0) throw std::invalid_argument("hidden_size must be a multiple of num_attention_heads");
    blas_.handle = blas_handle();
    blas_.compute = precision == Precision::TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    // bert.cc's flat layout (bertParameterShapes' names): embeddings word, position, token type,
    // LayerNorm; per layer q, k, v, attention output dense, its LayerNorm, intermediate dense,
    // output dense, its LayerNorm; pooler; classifier.
    size_t at = 0;
    auto take = [&](size_t n) {
      const size_t o = at;
      at += n;
      return o;
    };
    const size_t C = c_.C, F = c_.F;
    word_ = take((size_t)c_.V * C);
    pos_ = take((size_t)c_.P * C);
    type_ = take((size_t)c_.types * C);
    eln_w_ = take(C);
    eln_b_ = take(C);
    for (int l = 0; l < c_.L; l++) {
      LayerOffsets o;
      o.q_w = take(C * C);
      o.q_b = take(C);
      o.k_w = take(C * C);
      o.k_b = take(C);
      o.v_w = take(C * C);
      o.v_b = take(C);
      o.ao_w = take(C * C);
      o.ao_b = take(C);
      o.ln1_w = take(C);
      o.ln1_b = take(C);
      o.i_w = take(F * C);
      o.i_b = take(F);
      o.o_w = take(C * F);
      o.o_b = take(C);
      o.ln2_w = take(C);
      o.ln2_b = take(C);
      layers_.push_back(o);
    }
    pool_w_ = take(C * C);
    pool_b_ = take(C);
    cls_w_ = take((size_t)c_.K * C);
    cls_b_ = take(c_.K);
    n_ = at;
    if (n_ != parameter_count(c_)) throw std::logic_error("CUDA BERT: the parameter layout disagrees with parameter_count");
    set_params(host_params);
  }

  size_t num_params() const override { return n_; }
  Precision precision() const override { return precision_; }

  void get_params(float* out) override { CUDA_CHECK(cudaMemcpy(out, params_.get(), n_ * sizeof(float), cudaMemcpyDeviceToHost)); }
  void set_params(const float* in) override {
    CUDA_CHECK(cudaMemcpy(params_.reserve(n_), in, n_ * sizeof(float), cudaMemcpyHostToDevice));
    if constexpr (!std::is_same_v<T_, float>) {
      to_bf16<<<grid_for(n_), THREADS>>>(params_bf16_.reserve(n_), params_.get(), n_);
      LAUNCH_CHECK();
    }
  }

  void logits(const int32_t* ids, const int32_t* lengths, int B, int T, float* out) override {
    if (T > c_.P) throw std::out_of_range("sequence longer than max_position_embeddings");
    const int C = c_.C, H = c_.H, D = C / H, F = c_.F, K = c_.K, N = B * T;
    const size_t NC = (size_t)N * C, NF = (size_t)N * F, BHTT = (size_t)B * H * T * T;
    const float* P = params_.get();
    // An all-padding row would attend to nothing; it attends to its first token instead (bert.cc).
    std::vector<int32_t> len(B);
    for (int b = 0; b < B; b++) len[b] = std::max(1, std::min(T, (int)lengths[b]));
    int32_t* ids_d = ids_.reserve(N);
    int32_t* len_d = lengths_.reserve(B);
    CUDA_CHECK(cudaMemcpy(ids_d, ids, (size_t)N * sizeof(int32_t), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(len_d, len.data(), (size_t)B * sizeof(int32_t), cudaMemcpyHostToDevice));
    T_* x = x_.reserve(NC);       // [N, C] the block input, then its output
    T_* a = a_.reserve(NC);       // [N, C] after the attention's LayerNorm
    T_* res = res_.reserve(NC);   // [N, C] residual sums (LayerNorm inputs)
    T_* tmp = tmp_.reserve(NC);   // [N, C] projections before their bias
    T_* ctx = ctx_.reserve(NC);   // [N, C] attention output, heads side by side
    T_* qkv = qkv_.reserve(3 * NC);  // [N, 3C] q | k | v before their biases
    T_* q = q_.reserve(NC);       // [B, H, T, D]
    T_* k = k_.reserve(NC);
    T_* v = v_.reserve(NC);
    T_* y = y_.reserve(NC);       // [B, H, T, D]
    T_* pre = pre_.reserve(BHTT);  // [B, H, T, T]
    T_* att = att_.reserve(BHTT);
    T_* f = f_.reserve(NF);       // [N, F] intermediate pre-activation (+ bias)
    T_* g = g_.reserve(NF);       // [N, F] erf GELU
    const int ln_grid = ceil_div(N, ROWS_PER_BLOCK);

    // BertEmbeddings: LayerNorm(word + position + token type 0); dropout is the identity.
    bert_embed<<<grid_for(NC), THREADS>>>(res, ids_d, P + word_, P + pos_, P + type_, N, T, C);
    LAUNCH_CHECK();
    layernorm_forward<<<ln_grid, THREADS>>>(x, (float*)nullptr, (float*)nullptr, res, P + eln_w_, P + eln_b_, N, C, c_.eps);
    LAUNCH_CHECK();
    const float scale = 1.0f / sqrtf((float)D);  // BertSelfAttention: scores / √D
    for (int l = 0; l < c_.L; l++) {
      const LayerOffsets& o = layers_[l];
      // BertSelfAttention: q, k, v Linear into the columns of one [N, 3C] buffer; their biases
      // ride in the permute to [B, H, T, D].
      linear_forward_oi(blas_, qkv, 3 * C, x, W(o.q_w), N, C, C);
      linear_forward_oi(blas_, qkv + C, 3 * C, x, W(o.k_w), N, C, C);
      linear_forward_oi(blas_, qkv + 2 * C, 3 * C, x, W(o.v_w), N, C, C);
      attention_permute<<<grid_for(NC), THREADS>>>(q, k, v, qkv, P + o.q_b, P + o.k_b, P + o.v_b, B, T, C, H);
      LAUNCH_CHECK();
      attention_scores(blas_, pre, q, k, B * H, T, D, scale);
      key_padding_softmax<<<ceil_div((size_t)B * H * T, ROWS_PER_BLOCK), THREADS>>>(att, pre, len_d, B * H * T, T, H);
      LAUNCH_CHECK();
      attention_values(blas_, y, att, v, B * H, T, D);
      heads_merge<<<grid_for(NC), THREADS>>>(ctx, y, B, T, C, H);
      LAUNCH_CHECK();
      // BertSelfOutput: LayerNorm(dense(ctx) + x).
      linear_forward_oi(blas_, tmp, C, ctx, W(o.ao_w), N, C, C);
      residual_bias<<<grid_for(NC), THREADS>>>(res, tmp, x, P + o.ao_b, (size_t)N, C);
      LAUNCH_CHECK();
      layernorm_forward<<<ln_grid, THREADS>>>(a, (float*)nullptr, (float*)nullptr, res, P + o.ln1_w, P + o.ln1_b, N, C, c_.eps);
      LAUNCH_CHECK();
      // BertIntermediate (hidden_act "gelu": erf) and BertOutput: LayerNorm(dense(g) + a).
      linear_forward_oi(blas_, f, F, a, W(o.i_w), N, C, F);
      bias_act_forward<<<grid_for(NF), THREADS>>>(g, f, P + o.i_b, (size_t)N, F, (int)GELU_ERF);
      LAUNCH_CHECK();
      linear_forward_oi(blas_, tmp, C, g, W(o.o_w), N, F, C);
      residual_bias<<<grid_for(NC), THREADS>>>(res, tmp, a, P + o.o_b, (size_t)N, C);
      LAUNCH_CHECK();
      layernorm_forward<<<ln_grid, THREADS>>>(x, (float*)nullptr, (float*)nullptr, res, P + o.ln2_w, P + o.ln2_b, N, C, c_.eps);
      LAUNCH_CHECK();
    }

    // BertPooler: tanh(dense(hidden_states[:, 0])); then the classifier (dropout: identity), in float.
    float* cls = cls_.reserve((size_t)B * C);     // [B, C]
    float* pooled = pooled_.reserve((size_t)B * C);
    float* z = logits_.reserve((size_t)B * K);    // [B, K]
    gather_first<<<grid_for((size_t)B * C), THREADS>>>(cls, x, B, T, C);
    LAUNCH_CHECK();
    linear_forward_oi(blas_, pooled, C, (const float*)cls, P + pool_w_, B, C, C);
    bias_rows<<<grid_for((size_t)B * C), THREADS>>>(pooled, P + pool_b_, B, C, true);
    LAUNCH_CHECK();
    linear_forward_oi(blas_, z, K, (const float*)pooled, P + cls_w_, B, C, K);
    bias_rows<<<grid_for((size_t)B * K), THREADS>>>(z, P + cls_b_, B, K, false);
    LAUNCH_CHECK();
    CUDA_CHECK(cudaMemcpy(out, z, (size_t)B * K * sizeof(float), cudaMemcpyDeviceToHost));
  }

 private:
  struct LayerOffsets {
    size_t q_w, q_b, k_w, k_b, v_w, v_b, ao_w, ao_b, ln1_w, ln1_b, i_w, i_b, o_w, o_b, ln2_w, ln2_b;
  };

  const BertConfig c_;
  const Precision precision_;
  Blas blas_;
  size_t n_ = 0, word_ = 0, pos_ = 0, type_ = 0, eln_w_ = 0, eln_b_ = 0, pool_w_ = 0, pool_b_ = 0, cls_w_ = 0, cls_b_ = 0;
  std::vector<LayerOffsets> layers_;
  DeviceArray<float> params_;
  DeviceArray<__nv_bfloat16> params_bf16_;  // bf16 mode: what the encoder's GEMMs read
  // Scratch for the current (B, T), grown as needed; nothing is kept for a backward.
  DeviceArray<int32_t> ids_, lengths_;
  DeviceArray<T_> x_, a_, res_, tmp_, ctx_, qkv_, q_, k_, v_, y_, pre_, att_, f_, g_;
  DeviceArray<float> cls_, pooled_, logits_;

  // The weights as the encoder's GEMMs read them.
  const T_* W(size_t offset) const {
    if constexpr (std::is_same_v<T_, float>) return params_.get() + offset;
    else return params_bf16_.get() + offset;
  }
};

}  // namespace

std::unique_ptr<BertEngine> BertEngine::create(const BertConfig& config, const float* params, Precision precision) {
  const DeviceInfo info = device_info();
  if (!info.ok) throw std::runtime_error(info.reason);
  if (precision == Precision::BF16) return std::make_unique<Bert<__nv_bfloat16>>(config, params, precision);
  return std::make_unique<Bert<float>>(config, params, precision);
}

}  // namespace rdlab_cuda
