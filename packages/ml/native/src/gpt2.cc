// GPT-2 forward, backward, Adam and KV-cached decoding on the CPU (see gpt2.h).
#include "gpt2.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

#include "adam.h"
#include "kernels.h"
#include "profile.h"

namespace rdlab {

Gpt2::Gpt2(const Gpt2Config& c, const float* p, bool frozen_) : config(c), frozen(frozen_) {
  if (c.C % c.H != 0) throw std::invalid_argument("n_embd must be divisible by n_head");
  // GPT-2's checkpoint order: wte, wpe, then per layer ln_1.{w,b}, c_attn.{w,b},
  // attn.c_proj.{w,b}, ln_2.{w,b}, c_fc.{w,b}, mlp.c_proj.{w,b}; then ln_f.{w,b}.
  // OPT and XGLM (modeling_opt.py, modeling_xglm.py): embed_tokens, embed_positions (OPT only),
  // then per layer self_attn.{q,k,v,out}_proj.{w,b}, self_attn_layer_norm.{w,b},
  // final_layer_norm.{w,b}, fc1.{w,b}, fc2.{w,b}; then the final LayerNorm.
  size_t at = 0;
  auto take = [&](size_t n) {
    tensor_offsets.push_back(at);
    tensor_sizes.push_back(n);
    size_t o = at;
    at += n;
    return o;
  };
  const size_t C = c.C, F = c.ffn();
  const size_t rows = (size_t)c.P + c.pos_offset;
  wte = take((size_t)c.V * C);
  if (!c.sinusoidal) wpe = take(rows * C);
  for (int l = 0; l < c.L; l++) {
    LayerOffsets lo{};
    if (c.separate_qkv) {
      lo.qw = take(C * C);
      lo.qb = take(C);
      lo.kw = take(C * C);
      lo.kb = take(C);
      lo.vw = take(C * C);
      lo.vb = take(C);
      lo.attprojw = take(C * C);
      lo.attprojb = take(C);
      lo.ln1w = take(C);
      lo.ln1b = take(C);
    } else {
      lo.ln1w = take(C);
      lo.ln1b = take(C);
      lo.qkvw = take(C * 3 * C);
      lo.qkvb = take(3 * C);
      lo.attprojw = take(C * C);
      lo.attprojb = take(C);
    }
    lo.ln2w = take(C);
    lo.ln2b = take(C);
    lo.fcw = take(C * F);
    lo.fcb = take(F);
    lo.fcprojw = take(F * C);
    lo.fcprojb = take(C);
    layers.push_back(lo);
  }
  lnfw = take(C);
  lnfb = take(C);
  num_params = at;
  params.assign(p, p + at);
  if (c.sinusoidal) {
    // transformers' XGLMSinusoidalPositionalEmbedding.get_embedding(P + 2, C, padding_idx=1):
    // row r = [sin(r·f_0..f_{h-1}), cos(r·f_0..f_{h-1})], f_i = exp(−i·ln(10⁴)/(h − 1)), h = C/2,
    // a zero column when C is odd, and the padding row zeroed. Computed in float32 as torch does.
    const int half = c.C / 2;
    const float step = (float)(std::log(10000.0) / (half - 1));
    sinusoid_.assign(rows * C, 0.0f);
    for (size_t r = 0; r < rows; r++) {
      if (r == 1) continue;  // padding_idx
      for (int i = 0; i < half; i++) {
        const float angle = (float)r * std::exp((float)i * -step);
        sinusoid_[r * C + i] = std::sin(angle);
        sinusoid_[r * C + half + i] = std::cos(angle);
      }
    }
  }
}

void Gpt2::proj_forward(float* out, const float* inp, size_t w, size_t b, int N, int I, int O) {
  const float* P = params.data();
  if (config.separate_qkv) linear_forward(out, O, inp, P + w, P + b, N, I, O);
  else matmul_forward(out, inp, P + w, P + b, N, I, O);
}

void Gpt2::proj_backward(float* dinp, size_t w, size_t b, const float* dout, const float* inp, int N, int I, int O) {
  const float* P = params.data();
  float* G = grads.data();
  if (config.separate_qkv) linear_backward(dinp, G + w, G + b, dout, O, inp, P + w, N, I, O, false);
  else matmul_backward(dinp, G + w, G + b, dout, inp, P + w, N, I, O, false);
}

// qkv [N, 3C] = q | k | v, the layout attention reads: one GEMM for GPT-2's fused c_attn, three
// side by side for q_proj, k_proj, v_proj. OPT multiplies q by 1/√D after q_proj where rdlab
// scales the scores: the same product.
void Gpt2::qkv_forward(float* qkv, const float* ln, const LayerOffsets& o, int N) {
  const int C = config.C;
  const float* P = params.data();
  if (!config.separate_qkv) {
    matmul_forward(qkv, ln, P + o.qkvw, P + o.qkvb, N, C, 3 * C);
    return;
  }
  linear_forward(qkv, 3 * C, ln, P + o.qw, P + o.qb, N, C, C);
  linear_forward(qkv + C, 3 * C, ln, P + o.kw, P + o.kb, N, C, C);
  linear_forward(qkv + 2 * C, 3 * C, ln, P + o.vw, P + o.vb, N, C, C);
}

void Gpt2::qkv_backward(float* dln, const LayerOffsets& o, const float* dqkv, const float* ln, int N) {
  const int C = config.C;
  const float* P = params.data();
  float* G = grads.data();
  if (!config.separate_qkv) {
    matmul_backward(dln, G + o.qkvw, G + o.qkvb, dqkv, ln, P + o.qkvw, N, C, 3 * C, false);
    return;
  }
  linear_backward(dln, G + o.qw, G + o.qb, dqkv, 3 * C, ln, P + o.qw, N, C, C, false);
  linear_backward(dln, G + o.kw, G + o.kb, dqkv + C, 3 * C, ln, P + o.kw, N, C, C, true);
  linear_backward(dln, G + o.vw, G + o.vb, dqkv + 2 * C, 3 * C, ln, P + o.vw, N, C, C, true);
}

void Gpt2::act_forward(float* out, const float* inp, size_t n) {
  switch (config.activation) {
    case GELU_ERF: gelu_erf_forward(out, inp, n); break;
    case RELU: relu_forward(out, inp, n); break;
    default: gelu_forward(out, inp, n);
  }
}

void Gpt2::act_backward(float* dinp, const float* inp, const float* dout, size_t n) {
  switch (config.activation) {
    case GELU_ERF: gelu_erf_backward(dinp, inp, dout, n); break;
    case RELU: relu_backward(dinp, inp, dout, n); break;
    default: gelu_backward(dinp, inp, dout, n);
  }
}

void Gpt2::ensure(int B, int T) {
  const size_t N = (size_t)B * T, C = config.C, L = config.L, H = config.H;
  B_ = B;
  T_ = T;
  auto grow = [](std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  grow(res_, (L + 1) * N * C);
  grow(resmid_, L * N * C);
  grow(ln1_, L * N * C);
  grow(ln1m_, L * N);
  grow(ln1r_, L * N);
  grow(qkv_, L * N * 3 * C);
  grow(att_, L * B * H * T * T);
  grow(atty_, L * N * C);
  grow(ln2_, L * N * C);
  grow(ln2m_, L * N);
  grow(ln2r_, L * N);
  grow(fch_, L * N * config.ffn());
  grow(fchg_, L * N * config.ffn());
  grow(lnf_, N * C);
  grow(lnfm_, N);
  grow(lnfr_, N);
}

void Gpt2::embed(const int32_t* ids, int B, int T, int offset, float* out) {
  const int C = config.C;
  const float* wte_p = params.data() + wte;
  const float* wpe_p = positions() + (size_t)config.pos_offset * C;
  const float scale = config.embed_scale;
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= PARALLEL_MIN)
  for (int n = 0; n < B * T; n++) {
    int id = ids[n];
    if (id < 0 || id >= config.V) id = 0;  // validated on the TypeScript side; never read out of bounds
    const float* e = wte_p + (size_t)id * C;
    const float* p = wpe_p + (size_t)(offset + n % T) * C;
    float* o = out + (size_t)n * C;
    if (scale == 1.0f)
      for (int i = 0; i < C; i++) o[i] = e[i] + p[i];
    else  // XGLM: inputs_embeds = embed_tokens(ids) · embed_scale, then + positions
      for (int i = 0; i < C; i++) o[i] = e[i] * scale + p[i];
  }
}

void Gpt2::run_blocks(int B, int T) {
  const int N = B * T, C = config.C, H = config.H, F = config.ffn();
  const float* P = params.data();
  for (int l = 0; l < config.L; l++) {
    const LayerOffsets& o = layers[l];
    float* res = res_.data() + (size_t)l * N * C;
    float* mid = resmid_.data() + (size_t)l * N * C;
    float* next = res_.data() + (size_t)(l + 1) * N * C;
    float* ln1 = ln1_.data() + (size_t)l * N * C;
    float* qkv = qkv_.data() + (size_t)l * N * 3 * C;
    float* att = att_.data() + (size_t)l * B * H * T * T;
    float* atty = atty_.data() + (size_t)l * N * C;
    float* ln2 = ln2_.data() + (size_t)l * N * C;
    float* fch = fch_.data() + (size_t)l * N * F;
    float* fchg = fchg_.data() + (size_t)l * N * F;
    { Timed t(P_LAYERNORM); layernorm_forward(ln1, ln1m_.data() + (size_t)l * N, ln1r_.data() + (size_t)l * N, res, P + o.ln1w, P + o.ln1b, N, C, config.eps); }
    { Timed t(P_MATMUL); qkv_forward(qkv, ln1, o, N); }
    { Timed t(P_ATTENTION); attention_forward(atty, att, qkv, B, T, C, H); }
    { Timed t(P_MATMUL); proj_forward(mid, atty, o.attprojw, o.attprojb, N, C, C); }
    {
      Timed t(P_RESIDUAL);
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PARALLEL_MIN)
      for (size_t i = 0; i < (size_t)N * C; i++) mid[i] += res[i];
    }
    { Timed t(P_LAYERNORM); layernorm_forward(ln2, ln2m_.data() + (size_t)l * N, ln2r_.data() + (size_t)l * N, mid, P + o.ln2w, P + o.ln2b, N, C, config.eps); }
    { Timed t(P_MATMUL); proj_forward(fch, ln2, o.fcw, o.fcb, N, C, F); }
    { Timed t(P_GELU); act_forward(fchg, fch, (size_t)N * F); }
    { Timed t(P_MATMUL); proj_forward(next, fchg, o.fcprojw, o.fcprojb, N, F, C); }
    {
      Timed t(P_RESIDUAL);
#pragma omp parallel for schedule(static) if ((size_t)N * C >= PARALLEL_MIN)
      for (size_t i = 0; i < (size_t)N * C; i++) next[i] += mid[i];
    }
  }
  Timed t(P_LAYERNORM);
  layernorm_forward(lnf_.data(), lnfm_.data(), lnfr_.data(), res_.data() + (size_t)config.L * N * C, P + lnfw, P + lnfb, N, C, config.eps);
}

void Gpt2::logits(const int32_t* ids, int B, int T, float* out) {
  forward_B_ = 0;
  ensure(B, T);
  embed(ids, B, T, 0, res_.data());
  run_blocks(B, T);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B * T, config.V, config.C, 1.0f, lnf_.data(), config.C, params.data() + wte, config.C, 0.0f, out,
              config.V);
}

void Gpt2::last_logits(const int32_t* ids, int B, int T, float* out) {
  forward_B_ = 0;
  ensure(B, T);
  embed(ids, B, T, 0, res_.data());
  run_blocks(B, T);
  std::vector<float> last((size_t)B * config.C);
  for (int b = 0; b < B; b++) std::memcpy(last.data() + (size_t)b * config.C, lnf_.data() + ((size_t)b * T + T - 1) * config.C, sizeof(float) * config.C);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, config.V, config.C, 1.0f, last.data(), config.C, params.data() + wte, config.C, 0.0f, out, config.V);
}

void Gpt2::forward(const int32_t* ids, const float* mask, int B, int T, float* token_logprobs) {
  ensure(B, T);
  forward_B_ = B;
  const int C = config.C, V = config.V;
  ids_.assign(ids, ids + (size_t)B * T);
  mask_.assign(mask, mask + (size_t)B * T);
  {
    Timed t(P_EMBED);
    embed(ids, B, T, 0, res_.data());
  }
  run_blocks(B, T);
  Timed head(P_HEAD);
  // Only rows that predict a loss token go through the vocabulary projection.
  rows_.clear();
  targets_.clear();
  tokens_per_sample_.assign(B, 0.0);
  for (int b = 0; b < B; b++) {
    for (int t = 1; t < T; t++) {
      if (mask[(size_t)b * T + t] == 0.0f) continue;
      rows_.push_back(b * T + t - 1);
      targets_.push_back(ids[(size_t)b * T + t]);
      tokens_per_sample_[b] += 1.0;
    }
  }
  M_ = (int)rows_.size();
  std::memset(token_logprobs, 0, sizeof(float) * (size_t)B * T);
  if (M_ == 0) return;
  hrows_.resize((size_t)M_ * C);
  probs_.resize((size_t)M_ * V);
  logp_rows_.resize(M_);
  for (int r = 0; r < M_; r++) std::memcpy(hrows_.data() + (size_t)r * C, lnf_.data() + (size_t)rows_[r] * C, sizeof(float) * C);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M_, V, C, 1.0f, hrows_.data(), C, params.data() + wte, C, 0.0f, probs_.data(), V);
#pragma omp parallel for schedule(static) if ((size_t)M_ * V >= PARALLEL_MIN)
  for (int r = 0; r < M_; r++) {
    float* z = probs_.data() + (size_t)r * V;
    float maxv = z[0];
    for (int i = 1; i < V; i++) maxv = std::max(maxv, z[i]);
    const int target = targets_[r];
    const float target_logit = z[target];
    float sum_f = 0.0f;
#pragma omp simd reduction(+ : sum_f)
    for (int i = 0; i < V; i++) {
      z[i] = fast_exp(z[i] - maxv);
      sum_f += z[i];
    }
    const double sum = sum_f;
    float inv = (float)(1.0 / sum);
    // log p(target) from the logit, not the probability: exact even when p underflows.
    float logp = (target_logit - maxv) - (float)std::log(sum);
    for (int i = 0; i < V; i++) z[i] *= inv;
    logp_rows_[r] = logp;
    token_logprobs[rows_[r] + 1] = logp;  // row n predicts the token at n + 1
  }
}

void Gpt2::ensure_training_state() {
  if (frozen) throw std::logic_error("the language model was loaded frozen (sampling and scoring only): it has no gradients or Adam state");
  if (grads.size() != num_params) grads.assign(num_params, 0.0f);
  if (adam.m.size() != num_params) adam.m.assign(num_params, 0.0f);
  if (adam.v.size() != num_params) adam.v.assign(num_params, 0.0f);
}

double Gpt2::backward(const float* coefficients) {
  ensure_training_state();
  const int B = B_, T = T_, N = B * T, C = config.C, V = config.V, H = config.H, L = config.L, F = config.ffn();
  std::fill(grads.begin(), grads.end(), 0.0f);
  const float* P = params.data();
  float* G = grads.data();
  double loss = 0.0;
  // dlogits = c_b / (B · n_b) · (softmax − onehot), in place over the probabilities.
  for (int r = 0; r < M_; r++) {
    int b = rows_[r] / T;
    float* z = probs_.data() + (size_t)r * V;
    float scale = (float)(coefficients[b] / (B * tokens_per_sample_[b]));
    loss -= coefficients[b] * logp_rows_[r] / (B * tokens_per_sample_[b]);
    z[targets_[r]] -= 1.0f;
    for (int i = 0; i < V; i++) z[i] *= scale;
  }
  dres_.assign((size_t)N * C, 0.0f);
  dln_.resize((size_t)N * C);
  dqkv_.resize((size_t)N * 3 * C);
  datty_.resize((size_t)N * C);
  dfch_.resize((size_t)N * F);
  dlnf_.assign((size_t)N * C, 0.0f);
  attscratch_.resize((size_t)B * H * T);
  if (M_ > 0) {
    Timed t(P_HEAD_BWD);
    dhrows_.resize((size_t)M_ * C);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M_, C, V, 1.0f, probs_.data(), V, P + wte, C, 0.0f, dhrows_.data(), C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, M_, 1.0f, probs_.data(), V, hrows_.data(), C, 1.0f, G + wte, C);
    for (int r = 0; r < M_; r++) std::memcpy(dlnf_.data() + (size_t)rows_[r] * C, dhrows_.data() + (size_t)r * C, sizeof(float) * C);
  }
  { Timed t(P_LAYERNORM_BWD); layernorm_backward(dres_.data(), G + lnfw, G + lnfb, dlnf_.data(), res_.data() + (size_t)L * N * C, P + lnfw, lnfm_.data(), lnfr_.data(), N, C); }
  for (int l = L - 1; l >= 0; l--) {
    const LayerOffsets& o = layers[l];
    const float* res = res_.data() + (size_t)l * N * C;
    const float* mid = resmid_.data() + (size_t)l * N * C;
    const float* ln1 = ln1_.data() + (size_t)l * N * C;
    const float* qkv = qkv_.data() + (size_t)l * N * 3 * C;
    const float* att = att_.data() + (size_t)l * B * H * T * T;
    const float* atty = atty_.data() + (size_t)l * N * C;
    const float* ln2 = ln2_.data() + (size_t)l * N * C;
    const float* fch = fch_.data() + (size_t)l * N * F;
    const float* fchg = fchg_.data() + (size_t)l * N * F;
    // dres is the gradient of the block's output: the MLP branch, then the residual.
    { Timed t(P_MATMUL_BWD); proj_backward(dfch_.data(), o.fcprojw, o.fcprojb, dres_.data(), fchg, N, F, C); }
    { Timed t(P_GELU_BWD); act_backward(dfch_.data(), fch, dfch_.data(), (size_t)N * F); }
    { Timed t(P_MATMUL_BWD); proj_backward(dln_.data(), o.fcw, o.fcb, dfch_.data(), ln2, N, C, F); }
    { Timed t(P_LAYERNORM_BWD); layernorm_backward(dres_.data(), G + o.ln2w, G + o.ln2b, dln_.data(), mid, P + o.ln2w, ln2m_.data() + (size_t)l * N, ln2r_.data() + (size_t)l * N, N, C); }
    // dres is now the gradient of the attention's residual sum.
    { Timed t(P_MATMUL_BWD); proj_backward(datty_.data(), o.attprojw, o.attprojb, dres_.data(), atty, N, C, C); }
    { Timed t(P_ATTENTION_BWD); attention_backward(dqkv_.data(), datty_.data(), qkv, att, attscratch_.data(), B, T, C, H); }
    { Timed t(P_MATMUL_BWD); qkv_backward(dln_.data(), o, dqkv_.data(), ln1, N); }
    { Timed t(P_LAYERNORM_BWD); layernorm_backward(dres_.data(), G + o.ln1w, G + o.ln1b, dln_.data(), res, P + o.ln1w, ln1m_.data() + (size_t)l * N, ln1r_.data() + (size_t)l * N, N, C); }
  }
  // Embeddings: scatter-add, sequential so equal ids add in a fixed order.
  // OPT's learned table gets row t + 2; XGLM's sinusoids are constants, and its token rows get
  // the gradient times the embedding scale.
  Timed t(P_EMBED_BWD);
  const float scale = config.embed_scale;
  for (int n = 0; n < N; n++) {
    int id = ids_[n];
    if (id < 0 || id >= V) continue;
    float* dw = G + wte + (size_t)id * C;
    const float* d = dres_.data() + (size_t)n * C;
    if (config.sinusoidal) {
      for (int i = 0; i < C; i++) dw[i] += d[i] * scale;
      continue;
    }
    float* dp = G + wpe + (size_t)(config.pos_offset + n % T) * C;
    if (scale == 1.0f)
      for (int i = 0; i < C; i++) {
        dw[i] += d[i];
        dp[i] += d[i];
      }
    else
      for (int i = 0; i < C; i++) {
        dw[i] += d[i] * scale;
        dp[i] += d[i];
      }
  }
  return loss;
}

double Gpt2::adam_step(double lr, double beta1, double beta2, double eps, double clip, int step, const uint8_t* trainable) {
  ensure_training_state();
  Timed t(P_ADAM);
  return adam_update(params, grads, adam.m, adam.v, tensor_offsets, tensor_sizes, trainable, lr, beta1, beta2, eps, clip, step);
}

Gpt2::Decoder* Gpt2::decoder_new(int B) {
  auto* d = new Decoder();
  d->B = B;
  d->Tmax = config.P;
  const size_t D = config.C / config.H;
  d->k.assign((size_t)config.L * B * config.H * d->Tmax * D, 0.0f);
  d->v.assign(d->k.size(), 0.0f);
  return d;
}

void Gpt2::decoder_next(Decoder* d, const int32_t* ids, int n, float* logits_out) {
  const int B = d->B, C = config.C, H = config.H, D = C / H, Tmax = d->Tmax, pos = d->pos, N = B * n;
  if (pos + n > config.P) throw std::range_error("decoder: sequence longer than n_positions");
  const float* P = params.data();
  const int F = config.ffn();
  std::vector<float> x((size_t)N * C), ln((size_t)N * C), qkv((size_t)N * 3 * C), y((size_t)N * C), tmp((size_t)N * C), fc((size_t)N * F);
  std::vector<float> scores((size_t)B * H * (pos + n));  // attention weights, one row per (b, h)
  embed(ids, B, n, pos, x.data());
  const float scale = 1.0f / std::sqrt((float)D);
  for (int l = 0; l < config.L; l++) {
    const LayerOffsets& o = layers[l];
    layernorm_forward(ln.data(), nullptr, nullptr, x.data(), P + o.ln1w, P + o.ln1b, N, C, config.eps);
    qkv_forward(qkv.data(), ln.data(), o, N);
    float* kc = d->k.data() + (size_t)l * B * H * Tmax * D;
    float* vc = d->v.data() + (size_t)l * B * H * Tmax * D;
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * H * n * (pos + n) * D >= PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < H; h++) {
        float* kbh = kc + ((size_t)b * H + h) * Tmax * D;
        float* vbh = vc + ((size_t)b * H + h) * Tmax * D;
        for (int i = 0; i < n; i++) {
          const float* row = qkv.data() + ((size_t)b * n + i) * 3 * C;
          std::memcpy(kbh + (size_t)(pos + i) * D, row + C + h * D, sizeof(float) * D);
          std::memcpy(vbh + (size_t)(pos + i) * D, row + 2 * C + h * D, sizeof(float) * D);
        }
        float* a = scores.data() + ((size_t)b * H + h) * (pos + n);
        for (int i = 0; i < n; i++) {
          const float* q = qkv.data() + ((size_t)b * n + i) * 3 * C + h * D;
          const int S = pos + i + 1;
          float maxv = -1e30f;
          for (int s = 0; s < S; s++) {
            float dot = 0.0f;
            for (int j = 0; j < D; j++) dot += q[j] * kbh[(size_t)s * D + j];
            a[s] = dot * scale;
            maxv = std::max(maxv, a[s]);
          }
          float sum = 0.0f;
          for (int s = 0; s < S; s++) {
            a[s] = std::exp(a[s] - maxv);
            sum += a[s];
          }
          float* out = y.data() + ((size_t)b * n + i) * C + h * D;
          for (int j = 0; j < D; j++) out[j] = 0.0f;
          for (int s = 0; s < S; s++) {
            float p = a[s] / sum;
            for (int j = 0; j < D; j++) out[j] += p * vbh[(size_t)s * D + j];
          }
        }
      }
    }
    proj_forward(tmp.data(), y.data(), o.attprojw, o.attprojb, N, C, C);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] += tmp[i];
    layernorm_forward(ln.data(), nullptr, nullptr, x.data(), P + o.ln2w, P + o.ln2b, N, C, config.eps);
    proj_forward(fc.data(), ln.data(), o.fcw, o.fcb, N, C, F);
    act_forward(fc.data(), fc.data(), (size_t)N * F);
    proj_forward(tmp.data(), fc.data(), o.fcprojw, o.fcprojb, N, F, C);
    for (size_t i = 0; i < (size_t)N * C; i++) x[i] += tmp[i];
  }
  std::vector<float> last((size_t)B * C);
  for (int b = 0; b < B; b++) std::memcpy(last.data() + (size_t)b * C, x.data() + ((size_t)b * n + n - 1) * C, sizeof(float) * C);
  std::vector<float> lastn((size_t)B * C);
  layernorm_forward(lastn.data(), nullptr, nullptr, last.data(), P + lnfw, P + lnfb, B, C, config.eps);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, config.V, C, 1.0f, lastn.data(), C, P + wte, C, 0.0f, logits_out, config.V);
  d->pos += n;
}

}  // namespace rdlab
