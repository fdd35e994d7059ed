// The BERT reward model's forward, backward and Adam (see bert.h). GEMMs, LayerNorm and the erf
// GELU are the decoder families' kernels (kernels.h); attention is kernels.h's with the key
// padding mask (each row's length) instead of causal.
#include "bert.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "adam.h"
#include "kernels.h"

namespace rdlab {

size_t Bert::parameter_count(const BertConfig& c) {
  const size_t C = c.C, F = c.F;
  const size_t layer = 4 * (C * C + C) + 2 * C + (F * C + F) + (C * F + C) + 2 * C;
  return (size_t)(c.V + c.P + c.types) * C + 2 * C + c.L * layer + (C * C + C) + (c.K * C + c.K);
}

// The flat layout, in this order (bert-model.ts's bertParameterShapes lists the same names):
// embeddings word, position, token type, LayerNorm; per layer q, k, v, attention output dense,
// its LayerNorm, intermediate dense, output dense, its LayerNorm; pooler; classifier.
Bert::Bert(const BertConfig& c, const float* p, bool train) : config(c), trainable(train) {
  size_t at = 0;
  auto take = [&](size_t n) {
    tensor_offsets.push_back(at);
    tensor_sizes.push_back(n);
    size_t o = at;
    at += n;
    return o;
  };
  const size_t C = c.C, F = c.F;
  word_ = take((size_t)c.V * C);
  pos_ = take((size_t)c.P * C);
  type_ = take((size_t)c.types * C);
  eln_w_ = take(C);
  eln_b_ = take(C);
  for (int l = 0; l < c.L; l++) {
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
  cls_w_ = take((size_t)c.K * C);
  cls_b_ = take(c.K);
  num_params = at;
  params.assign(p, p + at);
  if (trainable) {
    grads.assign(at, 0.0f);
    m.assign(at, 0.0f);
    v.assign(at, 0.0f);
  }
  acts_.resize(c.L);
}

void Bert::forward(const int32_t* ids, const int32_t* lengths, int B, int T, const float* dropout, float* logits) {
  const int C = config.C, F = config.F, H = config.H, K = config.K;
  const size_t N = (size_t)B * T;
  const float* P = params.data();
  B_ = B;
  T_ = T;
  ids_.assign(ids, ids + N);
  // An all-padding row would attend to nothing; it attends to its first token instead.
  lengths_.resize(B);
  for (int b = 0; b < B; b++) lengths_[b] = std::max(1, std::min(T, (int)lengths[b]));

  // Embeddings: word + position t + token type 0 (one-segment inputs), then LayerNorm.
  emb_.resize(N * C);
  emb_mean_.resize(N);
  emb_rstd_.resize(N);
  h0_.resize(N * C);
#pragma omp parallel for schedule(static) if (N * C >= PARALLEL_MIN)
  for (size_t n = 0; n < N; n++) {
    const int t = (int)(n % T);
    const float* w = P + word_ + (size_t)ids[n] * C;
    const float* p = P + pos_ + (size_t)t * C;
    const float* y = P + type_;
    float* e = emb_.data() + n * C;
    for (int i = 0; i < C; i++) e[i] = w[i] + p[i] + y[i];
  }
  layernorm_forward(h0_.data(), emb_mean_.data(), emb_rstd_.data(), emb_.data(), P + eln_w_, P + eln_b_, (int)N, C, config.eps);

  const float* x = h0_.data();
  for (int l = 0; l < config.L; l++) {
    const auto& o = layers_[l];
    auto& a = acts_[l];
    a.qkv.resize(N * 3 * C);
    a.att.resize((size_t)B * H * T * T);
    a.ctx.resize(N * C);
    a.res1.resize(N * C);
    a.a.resize(N * C);
    a.ln1_mean.resize(N);
    a.ln1_rstd.resize(N);
    a.f.resize(N * F);
    a.g.resize(N * F);
    a.res2.resize(N * C);
    a.out.resize(N * C);
    a.ln2_mean.resize(N);
    a.ln2_rstd.resize(N);
    linear_forward(a.qkv.data(), 3 * C, x, P + o.q_w, P + o.q_b, (int)N, C, C);
    linear_forward(a.qkv.data() + C, 3 * C, x, P + o.k_w, P + o.k_b, (int)N, C, C);
    linear_forward(a.qkv.data() + 2 * C, 3 * C, x, P + o.v_w, P + o.v_b, (int)N, C, C);
    attention_forward(a.ctx.data(), a.att.data(), a.qkv.data(), B, T, C, H, lengths_.data());
    // BertSelfOutput: LayerNorm(dense(ctx) + x)
    linear_forward(a.res1.data(), C, a.ctx.data(), P + o.ao_w, P + o.ao_b, (int)N, C, C);
    for (size_t i = 0; i < N * C; i++) a.res1[i] += x[i];
    layernorm_forward(a.a.data(), a.ln1_mean.data(), a.ln1_rstd.data(), a.res1.data(), P + o.ln1_w, P + o.ln1_b, (int)N, C, config.eps);
    // BertIntermediate (erf GELU, hidden_act "gelu") and BertOutput: LayerNorm(dense(g) + a)
    linear_forward(a.f.data(), F, a.a.data(), P + o.i_w, P + o.i_b, (int)N, C, F);
    gelu_erf_forward(a.g.data(), a.f.data(), N * F);
    linear_forward(a.res2.data(), C, a.g.data(), P + o.o_w, P + o.o_b, (int)N, F, C);
    for (size_t i = 0; i < N * C; i++) a.res2[i] += a.a[i];
    layernorm_forward(a.out.data(), a.ln2_mean.data(), a.ln2_rstd.data(), a.res2.data(), P + o.ln2_w, P + o.ln2_b, (int)N, C, config.eps);
    x = a.out.data();
  }

  // BertPooler: tanh(dense(first token)); then dropout (training) and the classifier.
  cls_.resize((size_t)B * C);
  for (int b = 0; b < B; b++) std::memcpy(cls_.data() + (size_t)b * C, x + (size_t)b * T * C, sizeof(float) * C);
  pooled_.resize((size_t)B * C);
  linear_forward(pooled_.data(), C, cls_.data(), P + pool_w_, P + pool_b_, B, C, C);
  for (auto& y : pooled_) y = std::tanh(y);
  dropped_ = pooled_;
  if (dropout) {
    dropout_.assign(dropout, dropout + (size_t)B * C);
    for (size_t i = 0; i < dropped_.size(); i++) dropped_[i] *= dropout[i];
  } else {
    dropout_.clear();
  }
  logits_.resize((size_t)B * K);
  linear_forward(logits_.data(), K, dropped_.data(), P + cls_w_, P + cls_b_, B, C, K);
  std::memcpy(logits, logits_.data(), sizeof(float) * B * K);
}

double Bert::backward(const int32_t* labels) {
  const int B = B_, T = T_, C = config.C, F = config.F, H = config.H, K = config.K;
  const size_t N = (size_t)B * T;
  const float* P = params.data();
  std::fill(grads.begin(), grads.end(), 0.0f);
  float* G = grads.data();

  // Mean cross-entropy over the batch (torch's CrossEntropyLoss, as the authors fine-tune).
  std::vector<float> dlogits((size_t)B * K);
  double loss = 0.0;
  for (int b = 0; b < B; b++) {
    const float* z = logits_.data() + (size_t)b * K;
    float mx = z[0];
    for (int k = 1; k < K; k++) mx = std::max(mx, z[k]);
    double sum = 0.0;
    for (int k = 0; k < K; k++) sum += std::exp((double)z[k] - mx);
    const double lse = mx + std::log(sum);
    loss += lse - z[labels[b]];
    for (int k = 0; k < K; k++) dlogits[(size_t)b * K + k] = (float)((std::exp((double)z[k] - lse) - (k == labels[b] ? 1.0 : 0.0)) / B);
  }
  loss /= B;

  std::vector<float> dpooled((size_t)B * C), dcls((size_t)B * C);
  linear_backward(dpooled.data(), G + cls_w_, G + cls_b_, dlogits.data(), K, dropped_.data(), P + cls_w_, B, C, K, false);
  for (size_t i = 0; i < dpooled.size(); i++) {
    if (!dropout_.empty()) dpooled[i] *= dropout_[i];
    dpooled[i] *= 1.0f - pooled_[i] * pooled_[i];  // tanh'
  }
  linear_backward(dcls.data(), G + pool_w_, G + pool_b_, dpooled.data(), C, cls_.data(), P + pool_w_, B, C, C, false);

  std::vector<float> dx(N * C, 0.0f), dres(N * C), da(N * C), dctx(N * C), dqkv(N * 3 * C), dg(N * F), df(N * F);
  std::vector<float> scratch((size_t)B * H * T);
  for (int b = 0; b < B; b++) std::memcpy(dx.data() + (size_t)b * T * C, dcls.data() + (size_t)b * C, sizeof(float) * C);
  for (int l = config.L - 1; l >= 0; l--) {
    const auto& o = layers_[l];
    auto& a = acts_[l];
    const float* x = l == 0 ? h0_.data() : acts_[l - 1].out.data();
    // out = LN2(res2), res2 = dense(g) + a
    std::fill(dres.begin(), dres.end(), 0.0f);
    layernorm_backward(dres.data(), G + o.ln2_w, G + o.ln2_b, dx.data(), a.res2.data(), P + o.ln2_w, a.ln2_mean.data(), a.ln2_rstd.data(), (int)N, C);
    linear_backward(dg.data(), G + o.o_w, G + o.o_b, dres.data(), C, a.g.data(), P + o.o_w, (int)N, F, C, false);
    gelu_erf_backward(df.data(), a.f.data(), dg.data(), N * F);
    da = dres;
    linear_backward(da.data(), G + o.i_w, G + o.i_b, df.data(), F, a.a.data(), P + o.i_w, (int)N, C, F, true);
    // a = LN1(res1), res1 = dense(ctx) + x
    std::fill(dres.begin(), dres.end(), 0.0f);
    layernorm_backward(dres.data(), G + o.ln1_w, G + o.ln1_b, da.data(), a.res1.data(), P + o.ln1_w, a.ln1_mean.data(), a.ln1_rstd.data(), (int)N, C);
    linear_backward(dctx.data(), G + o.ao_w, G + o.ao_b, dres.data(), C, a.ctx.data(), P + o.ao_w, (int)N, C, C, false);
    attention_backward(dqkv.data(), dctx.data(), a.qkv.data(), a.att.data(), scratch.data(), B, T, C, H, lengths_.data());
    dx = dres;
    linear_backward(dx.data(), G + o.q_w, G + o.q_b, dqkv.data(), 3 * C, x, P + o.q_w, (int)N, C, C, true);
    linear_backward(dx.data(), G + o.k_w, G + o.k_b, dqkv.data() + C, 3 * C, x, P + o.k_w, (int)N, C, C, true);
    linear_backward(dx.data(), G + o.v_w, G + o.v_b, dqkv.data() + 2 * C, 3 * C, x, P + o.v_w, (int)N, C, C, true);
  }
  // h0 = LN(word + position + type 0)
  std::fill(dres.begin(), dres.end(), 0.0f);
  layernorm_backward(dres.data(), G + eln_w_, G + eln_b_, dx.data(), emb_.data(), P + eln_w_, emb_mean_.data(), emb_rstd_.data(), (int)N, C);
  for (size_t n = 0; n < N; n++) {
    const float* d = dres.data() + n * C;
    float* w = G + word_ + (size_t)ids_[n] * C;
    float* p = G + pos_ + (size_t)(n % T) * C;
    float* y = G + type_;
    for (int i = 0; i < C; i++) {
      w[i] += d[i];
      p[i] += d[i];
      y[i] += d[i];
    }
  }
  return loss;
}

double Bert::adam_step(double lr, double beta1, double beta2, double eps, double clip, int step) {
  return adam_update(params, grads, m, v, tensor_offsets, tensor_sizes, nullptr, lr, beta1, beta2, eps, clip, step);
}

}  // namespace rdlab
