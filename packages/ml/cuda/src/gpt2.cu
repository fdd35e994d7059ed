// GPT-2, OPT and XGLM on one GPU: forward, backward of the per-sample weighted loss, Adam,
// KV-cached decoding and sampling (engine.h). The families are one decoder described by Config,
// mirroring native/src/gpt2.cc step for step (learned positions with OPT's offset of 2 or XGLM's
// sinusoids, XGLM's input scale √C, the FFN's width and activation, GPT-2's fused Conv1D c_attn or
// separate torch Linear q/k/v). Parameters live on the GPU in one fp32 buffer in
// gpt2ParameterShapes order, except that wte has Vp = padded_vocab(V) rows (zero past V, llm.c's
// padded vocabulary); a bf16 copy feeds the GEMMs in bf16 mode. Only batches, per-token
// log-probabilities and scalars cross to the host on a training step.
//
// Legend: B batch, T positions, N = B·T rows, C width, F FFN width, V vocabulary, Vp the padded
// vocabulary, L layers, H heads, D = C/H, M rows that predict a target (the loss rows). T_ is the
// activation type.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <type_traits>
#include <vector>

#include "adam.cuh"
#include "common.cuh"
#include "decode.cuh"
#include "engine.h"
#include "kernels.cuh"
#include "matmul.cuh"

namespace rdlab_cuda {

// One cuBLAS handle per process, on the default stream (JavaScript calls one model at a time).
cublasHandle_t blas_handle() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h;
    CUBLAS_CHECK(cublasCreate(&h));
    return h;
  }();
  return handle;
}

namespace {

constexpr int THREADS = 256;
constexpr int ROWS_PER_BLOCK = THREADS / 32;  // the warp-per-row kernels
constexpr int MAX_CHUNKS = 64;                // column sums: row chunks of stage 1

int grid_for(size_t n) { return ceil_div(n, THREADS); }

// Offsets of one layer's tensors in the device buffer (native/src/gpt2.h's LayerOffsets). GPT-2 has
// the fused c_attn (qkvw [C, 3C]); OPT and XGLM keep q, k and v apart (qw, kw, vw [C, C]).
struct LayerOffsets {
  size_t ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb;
  size_t qw, qb, kw, kb, vw, vb;
  size_t first_tensor, tensors;  // the layer's tensors in checkpoint order: [first, first + tensors)
};

template <typename T_>
class Model final : public Gpt2Engine {
 public:
  Model(const Config& config, const float* host_params, Precision precision, bool frozen)
      : c_(config), precision_(precision), frozen_(frozen), Vp_(padded_vocab(config.V)) {
    if (c_.C % c_.H != 0) throw std::invalid_argument("n_embd must be divisible by n_head");
    blas_.handle = blas_handle();
    blas_.compute = precision == Precision::TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    // GPT-2's checkpoint order: wte, wpe, then per layer ln_1.{w,b}, c_attn.{w,b},
    // attn.c_proj.{w,b}, ln_2.{w,b}, c_fc.{w,b}, mlp.c_proj.{w,b}; then ln_f.{w,b}.
    // OPT and XGLM (modeling_opt.py, modeling_xglm.py): embed_tokens, embed_positions (OPT only),
    // then per layer self_attn.{q,k,v,out}_proj.{w,b}, self_attn_layer_norm.{w,b},
    // final_layer_norm.{w,b}, fc1.{w,b}, fc2.{w,b}; then the final LayerNorm.
    // offsets_ are device offsets; sizes_ the checkpoint's sizes (wte's V rows: the padded rows
    // are in no tensor, so no norm, Adam step or copy sees them).
    size_t at = 0;
    auto take = [&](size_t n, size_t room) {
      offsets_.push_back(at);
      sizes_.push_back(n);
      const size_t o = at;
      at += room;
      return o;
    };
    const size_t C = c_.C, F = c_.ffn();
    const size_t rows = (size_t)c_.P + c_.pos_offset;
    wte_ = take((size_t)c_.V * C, (size_t)Vp_ * C);
    pad_ = (size_t)(Vp_ - c_.V) * C;
    if (!c_.sinusoidal) wpe_ = take(rows * C, rows * C);
    for (int l = 0; l < c_.L; l++) {
      LayerOffsets o{};
      o.first_tensor = offsets_.size();
      if (c_.separate_qkv) {
        o.qw = take(C * C, C * C);
        o.qb = take(C, C);
        o.kw = take(C * C, C * C);
        o.kb = take(C, C);
        o.vw = take(C * C, C * C);
        o.vb = take(C, C);
        o.attprojw = take(C * C, C * C);
        o.attprojb = take(C, C);
        o.ln1w = take(C, C);
        o.ln1b = take(C, C);
      } else {
        o.ln1w = take(C, C);
        o.ln1b = take(C, C);
        o.qkvw = take(C * 3 * C, C * 3 * C);
        o.qkvb = take(3 * C, 3 * C);
        o.attprojw = take(C * C, C * C);
        o.attprojb = take(C, C);
        // c_attn's bias in thirds: what attention_permute and kv_store add to q, k and v.
        o.qb = o.qkvb;
        o.kb = o.qkvb + C;
        o.vb = o.qkvb + 2 * C;
      }
      o.ln2w = take(C, C);
      o.ln2b = take(C, C);
      o.fcw = take(C * F, C * F);
      o.fcb = take(F, F);
      o.fcprojw = take(F * C, F * C);
      o.fcprojb = take(C, C);
      o.tensors = offsets_.size() - o.first_tensor;
      layers_.push_back(o);
    }
    lnfw_ = take(C, C);
    lnfb_ = take(C, C);
    n_ = at;
    if (n_ - pad_ != parameter_count(c_)) throw std::logic_error("CUDA engine: the parameter layout disagrees with parameter_count");
    // Gradients and Adam moments wait for the first training call (ensure_training_state).
    params_.reserve(n_);
    CUDA_CHECK(cudaMemset(params_.get(), 0, n_ * sizeof(float)));  // wte's padded rows stay 0
    copy_in(params_.get(), host_params);
    if (c_.sinusoidal) {
      // transformers' XGLMSinusoidalPositionalEmbedding.get_embedding(P + 2, C, padding_idx=1),
      // computed on the host in float32 exactly as native/src/gpt2.cc does (and torch): row r =
      // [sin(r·f_0..f_{h-1}), cos(r·f_0..f_{h-1})], f_i = exp(−i·ln(10⁴)/(h − 1)), h = C/2, a zero
      // column when C is odd, the padding row zeroed. A constant: no parameter, no gradient.
      const int half = c_.C / 2;
      const float step = (float)(std::log(10000.0) / (half - 1));
      std::vector<float> table(rows * C, 0.0f);
      for (size_t r = 0; r < rows; r++) {
        if (r == 1) continue;  // padding_idx
        for (int i = 0; i < half; i++) {
          const float angle = (float)r * std::exp((float)i * -step);
          table[r * C + i] = std::sin(angle);
          table[r * C + half + i] = std::cos(angle);
        }
      }
      CUDA_CHECK(cudaMemcpy(sinusoid_.reserve(rows * C), table.data(), rows * C * sizeof(float), cudaMemcpyHostToDevice));
    }
    refresh_copy(0, n_);
  }

  // The checkpoint's count: what crosses to JavaScript (wte's padded rows never do).
  size_t num_params() const override { return n_ - pad_; }
  size_t num_tensors() const override { return offsets_.size(); }
  Precision precision() const override { return precision_; }
  bool frozen() const override { return frozen_; }
  size_t training_state_bytes() const override { return (grads_.capacity() + m_.capacity() + v_.capacity()) * sizeof(float); }

  // ------------------------------------------------------------ forward

  void logits(const int32_t* ids, int B, int T, float* out) override {
    forward_B_ = 0;  // the activations backward would read are overwritten
    run_forward(ids, B, T);
    const size_t N = (size_t)B * T;
    float* z = logits_.reserve(N * Vp_);
    head_forward(blas_, z, lnf_.get(), W(wte_), (int)N, c_.C, Vp_);
    logits_to_host(out, z, N);
  }

  void last_logits(const int32_t* ids, int B, int T, float* out) override {
    forward_B_ = 0;
    run_forward(ids, B, T);
    T_* last = hrows_.reserve((size_t)B * c_.C);
    gather_last<<<grid_for((size_t)B * c_.C), THREADS>>>(last, lnf_.get(), B, T, c_.C);
    LAUNCH_CHECK();
    float* z = logits_.reserve((size_t)B * Vp_);
    head_forward(blas_, z, last, W(wte_), B, c_.C, Vp_);
    logits_to_host(out, z, B);
  }

  int forward_batch() const override { return forward_B_; }

  void forward(const int32_t* ids, const float* mask, int B, int T, float* token_logprobs) override {
    run_forward(ids, B, T);
    forward_B_ = B;
    const int C = c_.C, V = c_.V, Vp = Vp_;
    // Only rows that predict a loss token go through the vocabulary projection.
    rows_.clear();
    targets_.clear();
    tokens_per_sample_.assign(B, 0.0);
    for (int b = 0; b < B; b++)
      for (int t = 1; t < T; t++) {
        if (mask[(size_t)b * T + t] == 0.0f) continue;
        rows_.push_back(b * T + t - 1);
        targets_.push_back(ids[(size_t)b * T + t]);
        tokens_per_sample_[b] += 1.0;
      }
    M_ = (int)rows_.size();
    std::fill(token_logprobs, token_logprobs + (size_t)B * T, 0.0f);
    if (M_ == 0) return;
    int32_t* rows = rows_d_.reserve(M_);
    int32_t* targets = targets_d_.reserve(M_);
    CUDA_CHECK(cudaMemcpy(rows, rows_.data(), M_ * sizeof(int32_t), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(targets, targets_.data(), M_ * sizeof(int32_t), cudaMemcpyHostToDevice));
    T_* h = hrows_.reserve((size_t)M_ * C);
    gather_rows<<<grid_for((size_t)M_ * C), THREADS>>>(h, lnf_.get(), rows, M_, C);
    LAUNCH_CHECK();
    float* z = logits_.reserve((size_t)M_ * Vp);
    head_forward(blas_, z, h, W(wte_), M_, C, Vp);
    logsoftmax_rows<<<M_, THREADS>>>(lse_.reserve(M_), logp_.reserve(M_), z, targets, V, Vp);
    LAUNCH_CHECK();
    logp_h_.resize(M_);
    CUDA_CHECK(cudaMemcpy(logp_h_.data(), logp_.get(), M_ * sizeof(float), cudaMemcpyDeviceToHost));
    for (int r = 0; r < M_; r++) token_logprobs[rows_[r] + 1] = logp_h_[r];  // row n predicts the token at n + 1
  }

  // ------------------------------------------------------------ backward

  double backward(const float* coefficients, const uint8_t* trainable) override {
    const int B = B_, T = T_len_, N = B * T, C = c_.C, V = c_.V, Vp = Vp_, H = c_.H, L = c_.L, D = C / H, F = c_.ffn();
    const size_t NC = (size_t)N * C, NF = (size_t)N * F, BHTT = (size_t)B * H * T * T;
    ensure_training_state();
    CUDA_CHECK(cudaMemset(grads_.get(), 0, n_ * sizeof(float)));
    // dlogits = c_b / (B · n_b) · (softmax − onehot); the loss from the forward's log p.
    double loss = 0.0;
    scale_h_.resize(M_);
    for (int r = 0; r < M_; r++) {
      const int b = rows_[r] / T;
      const double denom = B * tokens_per_sample_[b];
      scale_h_[r] = (float)(coefficients[b] / denom);
      loss -= coefficients[b] * logp_h_[r] / denom;
    }
    if (M_ == 0) return 0.0;
    auto tr = [&](size_t offset) { return trainable[tensor_index(offset)] != 0; };
    const bool embeddings = tr(wte_) || (!c_.sinusoidal && tr(wpe_));
    // Layers below the lowest trainable one need no backward at all (freezing all but the last
    // block skips most of it).
    int lowest = L;
    for (int l = 0; l < L; l++) {
      bool any = false;
      for (size_t j = 0; j < layers_[l].tensors; j++) any = any || trainable[layers_[l].first_tensor + j];
      if (any) {
        lowest = l;
        break;
      }
    }
    if (embeddings) lowest = 0;

    float* G = grads_.get();
    const float* P = params_.get();
    float* scale = scale_d_.reserve(M_);
    CUDA_CHECK(cudaMemcpy(scale, scale_h_.data(), M_ * sizeof(float), cudaMemcpyHostToDevice));
    float* z = logits_.get();
    T_* dl;
    if constexpr (std::is_same_v<T_, float>) dl = z;  // in place over the logits
    else dl = dlogits_.reserve((size_t)M_ * Vp);
    crossentropy_backward<<<M_, THREADS>>>(dl, z, lse_.get(), targets_d_.get(), scale, V, Vp);
    LAUNCH_CHECK();
    T_* dh = dhrows_.reserve((size_t)M_ * C);
    head_backward_input(blas_, dh, dl, W(wte_), M_, C, Vp);
    if (tr(wte_)) head_backward_weight(blas_, G + wte_, hrows_.get(), dl, M_, C, Vp);  // padded rows += 0

    T_* dlnf = dlnf_.reserve(NC);
    T_* dres = dres_.reserve(NC);
    CUDA_CHECK(cudaMemset(dlnf, 0, NC * sizeof(T_)));
    CUDA_CHECK(cudaMemset(dres, 0, NC * sizeof(T_)));
    scatter_rows<<<grid_for((size_t)M_ * C), THREADS>>>(dlnf, dh, rows_d_.get(), M_, C);
    LAUNCH_CHECK();
    const T_* top = res_.get() + (size_t)L * NC;
    layernorm_backward_input<<<ceil_div(N, ROWS_PER_BLOCK), THREADS>>>(dres, dlnf, top, P + lnfw_, lnfm_.get(), lnfr_.get(), N, C);
    LAUNCH_CHECK();
    layernorm_weight_grads(tr(lnfw_) ? G + lnfw_ : nullptr, tr(lnfb_) ? G + lnfb_ : nullptr, dlnf, top, lnfm_.get(), lnfr_.get(), N, C);

    T_* dln = dln_.reserve(NC);
    T_* dfch = dfch_.reserve(NF);
    T_* datty = datty_.reserve(NC);
    T_* dy = dyperm_.reserve(NC);
    T_* dq = dq_.reserve(NC);
    T_* dk = dk_.reserve(NC);
    T_* dv = dv_.reserve(NC);
    T_* datt = datt_.reserve(BHTT);
    T_* dqkv = dqkv_.reserve(3 * NC);
    const float scale_qk = 1.0f / sqrtf((float)D);
    for (int l = L - 1; l >= lowest; l--) {
      const LayerOffsets& o = layers_[l];
      const T_* res = res_.get() + (size_t)l * NC;
      const T_* mid = resmid_.get() + (size_t)l * NC;
      const T_* ln1 = ln1_.get() + (size_t)l * NC;
      const T_* q = q_.get() + (size_t)l * NC;
      const T_* k = k_.get() + (size_t)l * NC;
      const T_* v = vv_.get() + (size_t)l * NC;
      const T_* att = att_.get() + (size_t)l * BHTT;
      const T_* atty = atty_.get() + (size_t)l * NC;
      const T_* ln2 = ln2_.get() + (size_t)l * NC;
      const T_* fch = fch_.get() + (size_t)l * NF;
      const T_* fchg = fchg_.get() + (size_t)l * NF;
      const float *m1 = ln1m_.get() + (size_t)l * N, *r1 = ln1r_.get() + (size_t)l * N;
      const float *m2 = ln2m_.get() + (size_t)l * N, *r2 = ln2r_.get() + (size_t)l * N;
      // dres is the gradient of the block's output: the MLP branch, then the residual.
      proj_backward_input(dfch, dres, o.fcprojw, N, F, C);
      if (tr(o.fcprojw)) proj_backward_weight(G + o.fcprojw, fchg, dres, N, F, C);
      if (tr(o.fcprojb)) bias_grad(G + o.fcprojb, dres, C, N, C);
      act_backward<<<grid_for(NF), THREADS>>>(dfch, fch, NF, c_.activation);
      LAUNCH_CHECK();
      proj_backward_input(dln, dfch, o.fcw, N, C, F);
      if (tr(o.fcw)) proj_backward_weight(G + o.fcw, ln2, dfch, N, C, F);
      if (tr(o.fcb)) bias_grad(G + o.fcb, dfch, F, N, F);
      layernorm_backward_input<<<ceil_div(N, ROWS_PER_BLOCK), THREADS>>>(dres, dln, mid, P + o.ln2w, m2, r2, N, C);
      LAUNCH_CHECK();
      layernorm_weight_grads(tr(o.ln2w) ? G + o.ln2w : nullptr, tr(o.ln2b) ? G + o.ln2b : nullptr, dln, mid, m2, r2, N, C);
      // dres is now the gradient of the attention's residual sum.
      proj_backward_input(datty, dres, o.attprojw, N, C, C);
      if (tr(o.attprojw)) proj_backward_weight(G + o.attprojw, atty, dres, N, C, C);
      if (tr(o.attprojb)) bias_grad(G + o.attprojb, dres, C, N, C);
      heads_split<<<grid_for(NC), THREADS>>>(dy, datty, B, T, C, H);
      LAUNCH_CHECK();
      attention_scores(blas_, datt, dy, v, B * H, T, D, 1.0f);  // datt = dy · vᵀ
      attention_values_backward_v(blas_, dv, att, dy, B * H, T, D);
      softmax_backward<<<ceil_div((size_t)B * H * T, ROWS_PER_BLOCK), THREADS>>>(datt, att, B * H * T, T);
      LAUNCH_CHECK();
      attention_scores_backward_q(blas_, dq, datt, k, B * H, T, D, scale_qk);
      attention_scores_backward_k(blas_, dk, datt, q, B * H, T, D, scale_qk);
      attention_unpermute_grad<<<grid_for(NC), THREADS>>>(dqkv, dq, dk, dv, B, T, C, H);
      LAUNCH_CHECK();
      if (!c_.separate_qkv) {
        linear_backward_input(blas_, dln, dqkv, W(o.qkvw), N, C, 3 * C);
        if (tr(o.qkvw)) linear_backward_weight(blas_, G + o.qkvw, ln1, dqkv, N, C, 3 * C);
        if (tr(o.qkvb)) bias_grad(G + o.qkvb, dqkv, 3 * C, N, 3 * C);
      } else {
        // q, k and v are column blocks of dqkv [N, 3C] (row stride 3C); their shares of dln add up
        // in q, k, v order, as native/src/gpt2.cc's qkv_backward adds them.
        const size_t w[3] = {o.qw, o.kw, o.vw}, bs[3] = {o.qb, o.kb, o.vb};
        for (int j = 0; j < 3; j++) {
          linear_backward_input_oi(blas_, dln, dqkv + (size_t)j * C, 3 * C, W(w[j]), N, C, C, j == 0 ? 0.0f : 1.0f);
          if (tr(w[j])) linear_backward_weight_oi(blas_, G + w[j], ln1, dqkv + (size_t)j * C, 3 * C, N, C, C);
          if (tr(bs[j])) bias_grad(G + bs[j], dqkv + (size_t)j * C, 3 * C, N, C);
        }
      }
      layernorm_backward_input<<<ceil_div(N, ROWS_PER_BLOCK), THREADS>>>(dres, dln, res, P + o.ln1w, m1, r1, N, C);
      LAUNCH_CHECK();
      layernorm_weight_grads(tr(o.ln1w) ? G + o.ln1w : nullptr, tr(o.ln1b) ? G + o.ln1b : nullptr, dln, res, m1, r1, N, C);
    }
    if (tr(wte_)) {
      // Positions grouped by token id on the host, so each row of dwte has one writer.
      std::vector<int32_t> order(N);
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return ids_h_[a] < ids_h_[b]; });
      std::vector<int32_t> unique, starts;
      for (int i = 0; i < N; i++)
        if (i == 0 || ids_h_[order[i]] != ids_h_[order[i - 1]]) {
          unique.push_back(ids_h_[order[i]]);
          starts.push_back(i);
        }
      starts.push_back(N);
      int32_t* u = uniq_d_.reserve(unique.size());
      int32_t* s = starts_d_.reserve(starts.size());
      int32_t* pos = order_d_.reserve(N);
      CUDA_CHECK(cudaMemcpy(u, unique.data(), unique.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaMemcpy(s, starts.data(), starts.size() * sizeof(int32_t), cudaMemcpyHostToDevice));
      CUDA_CHECK(cudaMemcpy(pos, order.data(), N * sizeof(int32_t), cudaMemcpyHostToDevice));
      // XGLM's token rows get the gradient times the input scale (the tied head's share is above).
      embed_backward_wte<<<(int)unique.size(), THREADS>>>(G + wte_, dres, u, s, pos, C, c_.embed_scale);
      LAUNCH_CHECK();
    }
    // OPT's learned table gets row t + 2; XGLM's sinusoids are constants.
    if (!c_.sinusoidal && tr(wpe_)) {
      embed_backward_wpe<<<grid_for((size_t)T * C), THREADS>>>(G + wpe_ + (size_t)c_.pos_offset * C, dres, B, T, C);
      LAUNCH_CHECK();
    }
    return loss;
  }

  double adam_step(double lr, double beta1, double beta2, double eps, double clip, int step, const uint8_t* trainable) override {
    ensure_training_state();
    // Trainable tensors are contiguous runs of the buffer: one launch per run, not per tensor.
    std::vector<std::pair<size_t, size_t>> spans;
    for (size_t t = 0; t < offsets_.size(); t++) {
      if (trainable && !trainable[t]) continue;
      if (!spans.empty() && spans.back().first + spans.back().second == offsets_[t]) spans.back().second += sizes_[t];
      else spans.emplace_back(offsets_[t], sizes_[t]);
    }
    if (spans.empty()) return 0.0;
    double* partial = partial_.reserve(spans.size() * NORM_BLOCKS);
    double* norm_sq = norm_sq_.reserve(std::max<size_t>(offsets_.size(), 1));
    for (size_t s = 0; s < spans.size(); s++) {
      square_partials<<<NORM_BLOCKS, NORM_THREADS>>>(partial + s * NORM_BLOCKS, grads_.get() + spans[s].first, spans[s].second);
      LAUNCH_CHECK();
    }
    sum_partials<<<1, 1024>>>(norm_sq, partial, (int)(spans.size() * NORM_BLOCKS));
    LAUNCH_CHECK();
    const float step_size = (float)(lr / (1.0 - std::pow(beta1, step)));
    const float c2sqrt = (float)std::sqrt(1.0 - std::pow(beta2, step));
    for (const auto& [off, n] : spans) {
      adam_update<<<grid_for(n), THREADS>>>(params_.get() + off, grads_.get() + off, m_.get() + off, v_.get() + off, n, norm_sq, clip,
                                            (float)beta1, (float)beta2, (float)eps, step_size, c2sqrt);
      LAUNCH_CHECK();
      refresh_copy(off, n);
    }
    double sq = 0.0;
    CUDA_CHECK(cudaMemcpy(&sq, norm_sq, sizeof(double), cudaMemcpyDeviceToHost));
    return std::sqrt(sq);
  }

  std::vector<double> grad_squares() override {
    ensure_training_state();
    const size_t count = offsets_.size();
    double* partial = partial_.reserve(count * NORM_BLOCKS);
    double* out = norm_sq_.reserve(count);
    for (size_t t = 0; t < count; t++) {
      square_partials<<<NORM_BLOCKS, NORM_THREADS>>>(partial + t * NORM_BLOCKS, grads_.get() + offsets_[t], sizes_[t]);
      LAUNCH_CHECK();
    }
    sum_partials<<<(int)count, NORM_THREADS>>>(out, partial, NORM_BLOCKS);
    LAUNCH_CHECK();
    std::vector<double> host(count);
    CUDA_CHECK(cudaMemcpy(host.data(), out, count * sizeof(double), cudaMemcpyDeviceToHost));
    return host;
  }

  // ------------------------------------------------------------ host copies (on request only)

  // In checkpoint layout: wte's V rows, then the rest (the padded rows skipped both ways).
  void get_params(float* out) override { copy_out(out, params_.get()); }
  void set_params(const float* in) override {
    copy_in(params_.get(), in);
    refresh_copy(0, n_);
  }
  void get_grads(float* out) override {
    ensure_training_state();
    copy_out(out, grads_.get());
  }
  void get_adam(float* m, float* v) override {
    ensure_training_state();
    copy_out(m, m_.get());
    copy_out(v, v_.get());
  }
  void set_adam(const float* m, const float* v) override {
    ensure_training_state();
    copy_in(m_.get(), m);
    copy_in(v_.get(), v);
  }

  // ------------------------------------------------------------ decoding

  int decoder_new(int B) override {
    const int id = next_decoder_++;
    auto d = std::make_unique<Decoder>();
    d->B = B;
    decoders_[id] = std::move(d);
    return id;
  }

  int decoder_position(int handle) override { return decoder(handle).pos; }
  int decoder_batch(int handle) override { return decoder(handle).B; }

  void decoder_next(int handle, const int32_t* ids, int n, float* logits_out) override {
    Decoder& d = decoder(handle);
    if (d.pos + n > c_.P) throw std::out_of_range("decoding past n_positions");
    int32_t* ids_d = dec_ids_.reserve((size_t)d.B * n);
    CUDA_CHECK(cudaMemcpy(ids_d, ids, (size_t)d.B * n * sizeof(int32_t), cudaMemcpyHostToDevice));
    float* z = dec_logits_.reserve((size_t)d.B * Vp_);
    decode_step(d, ids_d, n, z);
    logits_to_host(logits_out, z, d.B);
  }

  void decoder_free(int handle) override { decoders_.erase(handle); }

  SampleResult sample(const int32_t* prefixes, int B, int p, const SampleOptions& o, uint32_t rng_state[4]) override {
    const int T = o.max_length, V = c_.V;
    if (p < 1 || T <= p) throw std::invalid_argument("sample: need 1 ≤ prefix length < max_length");
    if (T - 1 > c_.P) throw std::out_of_range("sample: max_length − 1 exceeds n_positions");
    const size_t BT = (size_t)B * T;
    Decoder d;
    d.B = B;
    reserve_cache(d, T - 1);
    // Outputs: the prefix then end-of-text padding; mask and log-probabilities 0.
    std::vector<int32_t> ids_init(BT, o.eos);
    for (int b = 0; b < B; b++) std::copy(prefixes + (size_t)b * p, prefixes + (size_t)(b + 1) * p, ids_init.begin() + (size_t)b * T);
    int32_t* ids = s_ids_.reserve(BT);
    float* mask = s_mask_.reserve(BT);
    float* lp = s_lp_.reserve(BT);
    float* slp = s_slp_.reserve(BT);
    uint8_t* done = s_done_.reserve(B);
    double* u = s_u_.reserve(B);
    int32_t* next = s_next_.reserve(B);
    uint32_t* rng = s_rng_.reserve(4);
    int* done_count = s_count_.reserve(1);
    const bool penalise = o.penalty != 1.0;
    uint8_t* seen = penalise ? s_seen_.reserve((size_t)B * V) : nullptr;
    CUDA_CHECK(cudaMemcpy(ids, ids_init.data(), BT * sizeof(int32_t), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemset(mask, 0, BT * sizeof(float)));
    CUDA_CHECK(cudaMemset(lp, 0, BT * sizeof(float)));
    CUDA_CHECK(cudaMemset(slp, 0, BT * sizeof(float)));
    CUDA_CHECK(cudaMemset(done, 0, B));
    CUDA_CHECK(cudaMemset(done_count, 0, sizeof(int)));
    CUDA_CHECK(cudaMemcpy(rng, rng_state, 4 * sizeof(uint32_t), cudaMemcpyHostToDevice));
    int32_t* prefix_d = dec_ids_.reserve((size_t)B * p);
    CUDA_CHECK(cudaMemcpy(prefix_d, prefixes, (size_t)B * p * sizeof(int32_t), cudaMemcpyHostToDevice));
    if (seen) {
      CUDA_CHECK(cudaMemset(seen, 0, (size_t)B * V));
      mark_seen<<<grid_for((size_t)B * p), THREADS>>>(seen, prefix_d, B, p, V);
      LAUNCH_CHECK();
    }
    float* z = dec_logits_.reserve((size_t)B * Vp_);
    double* raw = s_raw_.reserve((size_t)B * Vp_);
    double* weights = s_weights_.reserve((size_t)B * Vp_);
    decode_step(d, prefix_d, p, z);
    SampleStep step{z, raw, weights, V, Vp_, T, 0, o.eos, o.top_k, o.temperature, o.penalty, seen, done, u, next, ids, mask, lp, slp, done_count};
    for (int t = p; t < T; t++) {
      if (o.temperature != 0) {
        draw_uniforms<<<1, 1>>>(rng, done, u, B);
        LAUNCH_CHECK();
      }
      step.t = t;
      sample_rows<<<B, SAMPLE_THREADS>>>(step);
      LAUNCH_CHECK();
      if (t == T - 1) break;
      int finished = 0;
      CUDA_CHECK(cudaMemcpy(&finished, done_count, sizeof(int), cudaMemcpyDeviceToHost));
      if (finished == B) break;
      decode_step(d, next, 1, z);
    }
    SampleResult r;
    r.ids.resize(BT);
    r.mask.resize(BT);
    r.token_logprobs.resize(BT);
    r.sampling_logprobs.resize(BT);
    CUDA_CHECK(cudaMemcpy(r.ids.data(), ids, BT * sizeof(int32_t), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(r.mask.data(), mask, BT * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(r.token_logprobs.data(), lp, BT * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(r.sampling_logprobs.data(), slp, BT * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(rng_state, rng, 4 * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    return r;
  }

 private:
  struct Decoder {
    int B = 0, cap = 0, pos = 0;
    DeviceArray<T_> k, v;  // [L, B, H, cap, D]
  };

  const Config c_;
  const Precision precision_;
  const bool frozen_;  // sampling and scoring only: no gradient or Adam buffers, ever
  const int Vp_;     // padded_vocab(V): wte's rows and the logits' row stride on the GPU
  size_t pad_ = 0;   // (Vp − V)·C: the padded rows' floats, between wte's V rows and wpe
  Blas blas_;
  size_t n_ = 0, wte_ = 0, wpe_ = 0, lnfw_ = 0, lnfb_ = 0;  // n_: the device buffer, padding included
  DeviceArray<float> sinusoid_;  // XGLM: [P + 2, C] position table
  std::vector<size_t> offsets_, sizes_;
  std::vector<LayerOffsets> layers_;

  DeviceArray<float> params_, grads_, m_, v_;
  DeviceArray<__nv_bfloat16> params_bf16_;  // bf16 mode: what the GEMMs read

  // Training activations for the current (B, T).
  int B_ = 0, T_len_ = 0, M_ = 0, forward_B_ = 0;
  std::vector<int32_t> ids_h_, rows_, targets_;
  std::vector<double> tokens_per_sample_;
  std::vector<float> logp_h_, scale_h_;
  DeviceArray<int32_t> ids_d_, rows_d_, targets_d_, uniq_d_, starts_d_, order_d_;
  DeviceArray<T_> res_, resmid_, ln1_, q_, k_, vv_, att_, atty_, ln2_, fch_, fchg_, lnf_;  // per layer, as the CPU engine keeps them
  DeviceArray<float> ln1m_, ln1r_, ln2m_, ln2r_, lnfm_, lnfr_;
  DeviceArray<T_> qkv_, preatt_, yperm_, tmp_;                                               // forward scratch
  DeviceArray<T_> hrows_, dhrows_, dlogits_, dlnf_, dres_, dln_, dfch_, datty_, dyperm_, dq_, dk_, dv_, datt_, dqkv_;  // backward
  DeviceArray<float> logits_, lse_, logp_, scale_d_, part_a_, part_b_;
  DeviceArray<double> partial_, norm_sq_;

  // Decoding.
  std::map<int, std::unique_ptr<Decoder>> decoders_;
  int next_decoder_ = 1;
  DeviceArray<int32_t> dec_ids_;
  DeviceArray<float> dec_logits_;
  DeviceArray<T_> dec_x_, dec_ln_, dec_qkv_, dec_q_, dec_y_, dec_tmp_, dec_fch_, dec_fchg_, dec_last_, dec_lastn_;
  DeviceArray<int32_t> s_ids_, s_next_;
  DeviceArray<float> s_mask_, s_lp_, s_slp_;
  DeviceArray<uint8_t> s_done_, s_seen_;
  DeviceArray<double> s_u_, s_raw_, s_weights_;
  DeviceArray<uint32_t> s_rng_;
  DeviceArray<int> s_count_;

  // Allocates the gradients and Adam moments, zeroed, on the first training call: the state the
  // constructor used to allocate, so lazy allocation changes no number. A frozen model refuses.
  void ensure_training_state() {
    if (frozen_) throw std::logic_error("the language model was loaded frozen (sampling and scoring only): it has no gradients or Adam state");
    if (grads_.capacity() >= n_) return;
    for (DeviceArray<float>* a : {&grads_, &m_, &v_}) CUDA_CHECK(cudaMemset(a->reserve(n_), 0, n_ * sizeof(float)));
  }

  // The weights as the GEMMs read them.
  const T_* W(size_t offset) const {
    if constexpr (std::is_same_v<T_, float>) return params_.get() + offset;
    else return params_bf16_.get() + offset;
  }

  // Host (checkpoint layout, V rows of wte) ↔ device (Vp rows): two spans around the padding.
  void copy_in(float* dev, const float* host) {
    const size_t head = (size_t)c_.V * c_.C, tail = n_ - (head + pad_);
    CUDA_CHECK(cudaMemcpy(dev, host, head * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dev + head + pad_, host + head, tail * sizeof(float), cudaMemcpyHostToDevice));
  }
  void copy_out(float* host, const float* dev) {
    const size_t head = (size_t)c_.V * c_.C, tail = n_ - (head + pad_);
    CUDA_CHECK(cudaMemcpy(host, dev, head * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(host + head, dev + head + pad_, tail * sizeof(float), cudaMemcpyDeviceToHost));
  }

  // rows × Vp logits on the GPU → rows × V on the host (the padded columns stay behind).
  void logits_to_host(float* out, const float* z, size_t rows) {
    if (rows == 0) return;
    CUDA_CHECK(cudaMemcpy2D(out, (size_t)c_.V * sizeof(float), z, (size_t)Vp_ * sizeof(float), (size_t)c_.V * sizeof(float), rows, cudaMemcpyDeviceToHost));
  }

  // The position table as embed_kernel reads it: learned (wpe) or XGLM's sinusoids, moved by
  // OPT's and XGLM's offset of 2 rows.
  const float* positions() const { return (c_.sinusoidal ? sinusoid_.get() : params_.get() + wpe_) + (size_t)c_.pos_offset * c_.C; }

  // The block's projections, as Conv1D [in, out] (GPT-2) or Linear [out, in] (OPT, XGLM).
  void proj_forward(T_* out, const T_* inp, size_t w, int N, int I, int O) {
    if (c_.separate_qkv) linear_forward_oi(blas_, out, O, inp, W(w), N, I, O);
    else linear_forward(blas_, out, inp, W(w), N, I, O);
  }
  void proj_backward_input(T_* dinp, const T_* dout, size_t w, int N, int I, int O) {
    if (c_.separate_qkv) linear_backward_input_oi(blas_, dinp, dout, O, W(w), N, I, O, 0.0f);
    else linear_backward_input(blas_, dinp, dout, W(w), N, I, O);
  }
  void proj_backward_weight(float* dW, const T_* inp, const T_* dout, int N, int I, int O) {
    if (c_.separate_qkv) linear_backward_weight_oi(blas_, dW, inp, dout, O, N, I, O);
    else linear_backward_weight(blas_, dW, inp, dout, N, I, O);
  }
  // qkv [N, 3C] = q | k | v: one GEMM for GPT-2's fused c_attn, three into column blocks for
  // q_proj, k_proj, v_proj (biases: attention_permute / kv_store).
  void qkv_forward(T_* qkv, const T_* ln, const LayerOffsets& o, int N) {
    const int C = c_.C;
    if (!c_.separate_qkv) {
      linear_forward(blas_, qkv, ln, W(o.qkvw), N, C, 3 * C);
      return;
    }
    linear_forward_oi(blas_, qkv, 3 * C, ln, W(o.qw), N, C, C);
    linear_forward_oi(blas_, qkv + C, 3 * C, ln, W(o.kw), N, C, C);
    linear_forward_oi(blas_, qkv + 2 * C, 3 * C, ln, W(o.vw), N, C, C);
  }

  // Brings the bf16 copy of [offset, offset + n) up to date (bf16 mode only).
  void refresh_copy(size_t offset, size_t n) {
    if constexpr (!std::is_same_v<T_, float>) {
      if (!params_bf16_.get()) params_bf16_.reserve(n_);
      to_bf16<<<grid_for(n), THREADS>>>(params_bf16_.get() + offset, params_.get() + offset, n);
      LAUNCH_CHECK();
    }
  }

  size_t tensor_index(size_t offset) const {
    return (size_t)(std::lower_bound(offsets_.begin(), offsets_.end(), offset) - offsets_.begin());
  }

  Decoder& decoder(int handle) {
    auto it = decoders_.find(handle);
    if (it == decoders_.end()) throw std::invalid_argument("no such decoder (disposed?)");
    return *it->second;
  }

  void ensure(int B, int T) {
    const size_t N = (size_t)B * T, C = c_.C, L = c_.L, H = c_.H;
    const size_t NC = N * C, BHTT = (size_t)B * H * T * T;
    B_ = B;
    T_len_ = T;
    res_.reserve((L + 1) * NC);
    resmid_.reserve(L * NC);
    ln1_.reserve(L * NC);
    q_.reserve(L * NC);
    k_.reserve(L * NC);
    vv_.reserve(L * NC);
    att_.reserve(L * BHTT);
    atty_.reserve(L * NC);
    ln2_.reserve(L * NC);
    fch_.reserve(L * N * c_.ffn());
    fchg_.reserve(L * N * c_.ffn());
    lnf_.reserve(NC);
    ln1m_.reserve(L * N);
    ln1r_.reserve(L * N);
    ln2m_.reserve(L * N);
    ln2r_.reserve(L * N);
    lnfm_.reserve(N);
    lnfr_.reserve(N);
    qkv_.reserve(3 * NC);
    preatt_.reserve(BHTT);
    yperm_.reserve(NC);
    tmp_.reserve(NC);
  }

  void run_forward(const int32_t* ids, int B, int T) {
    if (T > c_.P) throw std::out_of_range("sequence longer than n_positions");
    ensure(B, T);
    const size_t N = (size_t)B * T;
    ids_h_.assign(ids, ids + N);
    int32_t* ids_d = ids_d_.reserve(N);
    CUDA_CHECK(cudaMemcpy(ids_d, ids, N * sizeof(int32_t), cudaMemcpyHostToDevice));
    embed_kernel<<<grid_for(N * c_.C), THREADS>>>(res_.get(), ids_d, params_.get() + wte_, positions(), (int)N, T, 0, c_.C, c_.V, c_.embed_scale);
    LAUNCH_CHECK();
    run_blocks(B, T);
  }

  // The blocks and ln_f over res_[0], keeping every activation backward reads.
  void run_blocks(int B, int T) {
    const int N = B * T, C = c_.C, H = c_.H, D = C / H, F = c_.ffn();
    const size_t NC = (size_t)N * C, NF = (size_t)N * F, BHTT = (size_t)B * H * T * T;
    const float* P = params_.get();
    const float scale_qk = 1.0f / sqrtf((float)D);  // OPT scales q after q_proj instead: the same product
    const int ln_grid = ceil_div(N, ROWS_PER_BLOCK);
    for (int l = 0; l < c_.L; l++) {
      const LayerOffsets& o = layers_[l];
      T_* res = res_.get() + (size_t)l * NC;
      T_* mid = resmid_.get() + (size_t)l * NC;
      T_* next = res_.get() + (size_t)(l + 1) * NC;
      T_* ln1 = ln1_.get() + (size_t)l * NC;
      T_* q = q_.get() + (size_t)l * NC;
      T_* k = k_.get() + (size_t)l * NC;
      T_* v = vv_.get() + (size_t)l * NC;
      T_* att = att_.get() + (size_t)l * BHTT;
      T_* atty = atty_.get() + (size_t)l * NC;
      T_* ln2 = ln2_.get() + (size_t)l * NC;
      T_* fch = fch_.get() + (size_t)l * NF;
      T_* fchg = fchg_.get() + (size_t)l * NF;
      layernorm_forward<<<ln_grid, THREADS>>>(ln1, ln1m_.get() + (size_t)l * N, ln1r_.get() + (size_t)l * N, res, P + o.ln1w, P + o.ln1b, N, C, c_.eps);
      LAUNCH_CHECK();
      qkv_forward(qkv_.get(), ln1, o, N);
      attention_permute<<<grid_for(NC), THREADS>>>(q, k, v, qkv_.get(), P + o.qb, P + o.kb, P + o.vb, B, T, C, H);
      LAUNCH_CHECK();
      attention_scores(blas_, preatt_.get(), q, k, B * H, T, D, scale_qk);
      causal_softmax<<<ceil_div((size_t)B * H * T, ROWS_PER_BLOCK), THREADS>>>(att, preatt_.get(), B * H * T, T);
      LAUNCH_CHECK();
      attention_values(blas_, yperm_.get(), att, v, B * H, T, D);
      heads_merge<<<grid_for(NC), THREADS>>>(atty, yperm_.get(), B, T, C, H);
      LAUNCH_CHECK();
      proj_forward(tmp_.get(), atty, o.attprojw, N, C, C);
      residual_bias<<<grid_for(NC), THREADS>>>(mid, res, tmp_.get(), P + o.attprojb, (size_t)N, C);
      LAUNCH_CHECK();
      layernorm_forward<<<ln_grid, THREADS>>>(ln2, ln2m_.get() + (size_t)l * N, ln2r_.get() + (size_t)l * N, mid, P + o.ln2w, P + o.ln2b, N, C, c_.eps);
      LAUNCH_CHECK();
      proj_forward(fch, ln2, o.fcw, N, C, F);
      bias_act_forward<<<grid_for(NF), THREADS>>>(fchg, fch, P + o.fcb, (size_t)N, F, c_.activation);
      LAUNCH_CHECK();
      proj_forward(tmp_.get(), fchg, o.fcprojw, N, F, C);
      residual_bias<<<grid_for(NC), THREADS>>>(next, mid, tmp_.get(), P + o.fcprojb, (size_t)N, C);
      LAUNCH_CHECK();
    }
    layernorm_forward<<<ln_grid, THREADS>>>(lnf_.get(), lnfm_.get(), lnfr_.get(), res_.get() + (size_t)c_.L * NC, P + lnfw_, P + lnfb_, N, C, c_.eps);
    LAUNCH_CHECK();
  }

  // Column sums of an [N, O] gradient: chunks of rows first, then the chunks in order.
  int chunks_for(int N) const { return std::max(1, std::min(MAX_CHUNKS, N / 64)); }

  // Column sums of dout [N, O] whose rows are `ld` apart (O, or 3C for a q/k/v block of dqkv).
  void bias_grad(float* out, const T_* dout, int ld, int N, int O) {
    const int chunks = chunks_for(N), per = ceil_div(N, chunks);
    float* pb = part_b_.reserve((size_t)MAX_CHUNKS * std::max(c_.ffn(), 3 * c_.C));
    column_partials<BIAS, T_><<<dim3(ceil_div(O, 32), chunks), dim3(32, 8)>>>(nullptr, pb, dout, ld, nullptr, nullptr, nullptr, N, O, per);
    LAUNCH_CHECK();
    column_finish<<<grid_for(O), THREADS>>>(nullptr, out, nullptr, pb, chunks, O);
    LAUNCH_CHECK();
  }

  void layernorm_weight_grads(float* dw, float* db, const T_* dout, const T_* inp, const float* mean, const float* rstd, int N, int C) {
    if (!dw && !db) return;
    const int chunks = chunks_for(N), per = ceil_div(N, chunks);
    float* pa = part_a_.reserve((size_t)MAX_CHUNKS * std::max(c_.ffn(), 3 * c_.C));
    float* pb = part_b_.reserve((size_t)MAX_CHUNKS * std::max(c_.ffn(), 3 * c_.C));
    column_partials<LN_WEIGHT, T_><<<dim3(ceil_div(C, 32), chunks), dim3(32, 8)>>>(pa, pb, dout, C, inp, mean, rstd, N, C, per);
    LAUNCH_CHECK();
    column_finish<<<grid_for(C), THREADS>>>(dw, db, pa, pb, chunks, C);
    LAUNCH_CHECK();
  }

  // Room in the cache for `needed` positions (doubling, at most n_positions), keeping what it holds.
  void reserve_cache(Decoder& d, int needed) {
    if (needed <= d.cap) return;
    const int D = c_.C / c_.H;
    const int cap = std::max(needed, std::min(c_.P, std::max(32, d.cap * 2)));
    const size_t rows = (size_t)c_.L * d.B * c_.H;
    DeviceArray<T_> k, v;
    k.reserve(rows * cap * D);
    v.reserve(rows * cap * D);
    if (d.pos > 0) {
      const size_t n = rows * d.pos * D;
      kv_copy<<<grid_for(n), THREADS>>>(k.get(), d.k.get(), rows, d.cap, cap, d.pos, D);
      LAUNCH_CHECK();
      kv_copy<<<grid_for(n), THREADS>>>(v.get(), d.v.get(), rows, d.cap, cap, d.pos, D);
      LAUNCH_CHECK();
    }
    d.k.swap(k);
    d.v.swap(v);
    d.cap = cap;
  }

  // Feeds [B, n] ids (on the GPU) at positions pos … pos + n − 1; logits of the last [B, V].
  void decode_step(Decoder& d, const int32_t* ids, int n, float* logits) {
    reserve_cache(d, d.pos + n);
    const int B = d.B, N = B * n, C = c_.C, H = c_.H, D = C / H, F = c_.ffn(), cap = d.cap, pos = d.pos;
    const size_t NC = (size_t)N * C, NF = (size_t)N * F;
    const float* P = params_.get();
    T_* x = dec_x_.reserve(NC);
    T_* ln = dec_ln_.reserve(NC);
    T_* qkv = dec_qkv_.reserve(3 * NC);
    T_* q = dec_q_.reserve(NC);
    T_* y = dec_y_.reserve(NC);
    T_* tmp = dec_tmp_.reserve(NC);
    T_* fch = dec_fch_.reserve(NF);
    T_* fchg = dec_fchg_.reserve(NF);
    const int ln_grid = ceil_div(N, ROWS_PER_BLOCK);
    embed_kernel<<<grid_for(NC), THREADS>>>(x, ids, P + wte_, positions(), N, n, pos, C, c_.V, c_.embed_scale);
    LAUNCH_CHECK();
    const size_t layer_cache = (size_t)B * H * cap * D;
    for (int l = 0; l < c_.L; l++) {
      const LayerOffsets& o = layers_[l];
      T_* kc = d.k.get() + (size_t)l * layer_cache;
      T_* vc = d.v.get() + (size_t)l * layer_cache;
      layernorm_forward<<<ln_grid, THREADS>>>(ln, nullptr, nullptr, x, P + o.ln1w, P + o.ln1b, N, C, c_.eps);
      LAUNCH_CHECK();
      qkv_forward(qkv, ln, o, N);
      kv_store<<<grid_for(NC), THREADS>>>(q, kc, vc, qkv, P + o.qb, P + o.kb, P + o.vb, B, n, C, H, pos, cap);
      LAUNCH_CHECK();
      decode_attention<<<dim3(B * H, n), 128, (size_t)(D + cap) * sizeof(float)>>>(y, q, kc, vc, B, n, C, H, pos, cap);
      LAUNCH_CHECK();
      proj_forward(tmp, y, o.attprojw, N, C, C);
      residual_bias<<<grid_for(NC), THREADS>>>(x, x, tmp, P + o.attprojb, (size_t)N, C);
      LAUNCH_CHECK();
      layernorm_forward<<<ln_grid, THREADS>>>(ln, nullptr, nullptr, x, P + o.ln2w, P + o.ln2b, N, C, c_.eps);
      LAUNCH_CHECK();
      proj_forward(fch, ln, o.fcw, N, C, F);
      bias_act_forward<<<grid_for(NF), THREADS>>>(fchg, fch, P + o.fcb, (size_t)N, F, c_.activation);
      LAUNCH_CHECK();
      proj_forward(tmp, fchg, o.fcprojw, N, F, C);
      residual_bias<<<grid_for(NC), THREADS>>>(x, x, tmp, P + o.fcprojb, (size_t)N, C);
      LAUNCH_CHECK();
    }
    T_* last = dec_last_.reserve((size_t)B * C);
    T_* lastn = dec_lastn_.reserve((size_t)B * C);
    gather_last<<<grid_for((size_t)B * C), THREADS>>>(last, x, B, n, C);
    LAUNCH_CHECK();
    layernorm_forward<<<ceil_div(B, ROWS_PER_BLOCK), THREADS>>>(lastn, nullptr, nullptr, last, P + lnfw_, P + lnfb_, B, C, c_.eps);
    LAUNCH_CHECK();
    head_forward(blas_, logits, lastn, W(wte_), B, C, Vp_);  // [B, Vp]
    d.pos += n;
  }
};

}  // namespace

std::unique_ptr<Gpt2Engine> Gpt2Engine::create(const Config& config, const float* params, Precision precision, bool frozen) {
  const DeviceInfo info = device_info();
  if (!info.ok) throw std::runtime_error(info.reason);
  if (precision == Precision::BF16) return std::make_unique<Model<__nv_bfloat16>>(config, params, precision, frozen);
  return std::make_unique<Model<float>>(config, params, precision, frozen);
}

DeviceInfo device_info() {
  DeviceInfo info;
  cudaDriverGetVersion(&info.driver);
  cudaRuntimeGetVersion(&info.runtime);
  const cudaError_t e = cudaGetDeviceCount(&info.count);
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice || e != cudaSuccess || info.count == 0) {
    cudaGetLastError();  // clear it: later calls report their own errors
    if (e == cudaErrorInsufficientDriver && info.driver == 0)
      info.reason = "no CUDA driver (no NVIDIA driver is installed: libcuda.so.1 was not found)";
    else if (e == cudaErrorInsufficientDriver)
      info.reason = "no CUDA driver new enough: the driver supports CUDA " + std::to_string(info.driver / 1000) + "." +
                    std::to_string(info.driver % 1000 / 10) + ", the engine was built for " + std::to_string(info.runtime / 1000) + "." +
                    std::to_string(info.runtime % 1000 / 10);
    else if (e == cudaErrorNoDevice || info.count == 0)
      info.reason = "no CUDA device (the driver sees no GPU)";
    else
      info.reason = std::string("no CUDA device: ") + cudaGetErrorString(e);
    return info;
  }
  cudaDeviceProp prop;
  const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe != cudaSuccess) {
    info.reason = std::string("no CUDA device: ") + cudaGetErrorString(pe);
    return info;
  }
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  cudaMemGetInfo(&info.free_memory, &info.total_memory);
  info.ok = true;
  return info;
}

double sgemm_gflops(int n, double seconds, bool tf32) {
  const DeviceInfo info = device_info();
  if (!info.ok) throw std::runtime_error(info.reason);
  DeviceArray<float> a, b, c;
  a.reserve((size_t)n * n);
  b.reserve((size_t)n * n);
  c.reserve((size_t)n * n);
  CUDA_CHECK(cudaMemset(a.get(), 0, (size_t)n * n * sizeof(float)));
  CUDA_CHECK(cudaMemset(b.get(), 0, (size_t)n * n * sizeof(float)));
  Blas blas{blas_handle(), tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
  auto run = [&] { gemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, 1.0f, a.get(), CUDA_R_32F, n, b.get(), CUDA_R_32F, n, 0.0f, c.get(), CUDA_R_32F, n); };
  run();
  CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  int runs = 0;
  float ms = 0.0f;
  CUDA_CHECK(cudaEventRecord(start));
  do {
    for (int i = 0; i < 10; i++) run();
    runs += 10;
    CUDA_CHECK(cudaEventRecord(stop));
    CUDA_CHECK(cudaEventSynchronize(stop));
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  } while (ms < seconds * 1000.0);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return 2.0 * n * (double)n * n * runs / (ms / 1000.0) / 1e9;
}

}  // namespace rdlab_cuda
