// The reward classifier's forward, backward and Adam (see cnn.h).
#include "cnn.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "adam.h"
#include "kernels.h"

namespace rdlab {

Cnn::Cnn(const CnnConfig& c, const float* p) : config(c) {
  size_t at = 0;
  auto take = [&](size_t n) {
    tensor_offsets.push_back(at);
    tensor_sizes.push_back(n);
    size_t o = at;
    at += n;
    return o;
  };
  emb_ = take((size_t)c.V * c.E);
  for (int k : c.kernels) {
    conv_w_.push_back(take((size_t)k * c.E * c.F));
    conv_b_.push_back(take(c.F));
  }
  cls_w_ = take((size_t)c.kernels.size() * c.F * c.C);
  cls_b_ = take(c.C);
  num_params = at;
  params.assign(p, p + at);
  grads.assign(at, 0.0f);
  m.assign(at, 0.0f);
  v.assign(at, 0.0f);
}

void Cnn::forward(const int32_t* ids, const int32_t* lengths, int B, int T, const float* dropout, float* logits) {
  const int E = config.E, F = config.F, C = config.C, K = (int)config.kernels.size();
  B_ = B;
  T_ = T;
  ids_.assign(ids, ids + (size_t)B * T);
  emb_out_.resize((size_t)B * T * E);
  const float* P = params.data();
  for (int n = 0; n < B * T; n++) {
    int id = ids[n];
    if (id < 0 || id >= config.V) id = 0;
    std::memcpy(emb_out_.data() + (size_t)n * E, P + emb_ + (size_t)id * E, sizeof(float) * E);
  }
  windows_.resize(K);
  conv_.resize(K);
  argmax_.resize(K);
  features_.assign((size_t)B * K * F, 0.0f);
  for (int j = 0; j < K; j++) {
    const int k = config.kernels[j], W = T - k + 1;
    auto& win = windows_[j];
    win.resize((size_t)B * W * k * E);
    for (int b = 0; b < B; b++)
      for (int i = 0; i < W; i++) std::memcpy(win.data() + ((size_t)b * W + i) * k * E, emb_out_.data() + ((size_t)b * T + i) * E, sizeof(float) * k * E);
    auto& conv = conv_[j];
    conv.resize((size_t)B * W * F);
    matmul_forward(conv.data(), win.data(), P + conv_w_[j], P + conv_b_[j], B * W, k * E, F);
    for (auto& x : conv) x = x > 0.0f ? x : 0.0f;
    auto& am = argmax_[j];
    am.assign((size_t)B * F, 0);
    for (int b = 0; b < B; b++) {
      // Windows that end inside the text (at least one, even for texts shorter than k).
      const int valid = std::max(lengths[b], k) - k + 1;
      for (int f = 0; f < F; f++) {
        int best = 0;
        float bestv = conv[((size_t)b * W) * F + f];
        for (int i = 1; i < valid; i++) {
          float x = conv[((size_t)b * W + i) * F + f];
          if (x > bestv) {
            bestv = x;
            best = i;
          }
        }
        am[(size_t)b * F + f] = best;
        features_[(size_t)b * K * F + j * F + f] = bestv;
      }
    }
  }
  if (dropout) {
    dropout_.assign(dropout, dropout + (size_t)B * K * F);
    for (size_t i = 0; i < features_.size(); i++) features_[i] *= dropout_[i];
  } else {
    dropout_.clear();
  }
  logits_.resize((size_t)B * C);
  matmul_forward(logits_.data(), features_.data(), P + cls_w_, P + cls_b_, B, K * F, C);
  std::memcpy(logits, logits_.data(), sizeof(float) * B * C);
}

double Cnn::backward(const int32_t* labels) {
  const int B = B_, T = T_, E = config.E, F = config.F, C = config.C, K = (int)config.kernels.size();
  std::fill(grads.begin(), grads.end(), 0.0f);
  const float* P = params.data();
  float* G = grads.data();
  std::vector<float> dlogits((size_t)B * C);
  double loss = 0.0;
  for (int b = 0; b < B; b++) {
    const float* z = logits_.data() + (size_t)b * C;
    float maxv = z[0];
    for (int c = 1; c < C; c++) maxv = std::max(maxv, z[c]);
    double sum = 0.0;
    for (int c = 0; c < C; c++) sum += std::exp(z[c] - maxv);
    loss -= (z[labels[b]] - maxv - std::log(sum)) / B;
    for (int c = 0; c < C; c++) dlogits[(size_t)b * C + c] = (float)((std::exp(z[c] - maxv) / sum - (c == labels[b] ? 1.0 : 0.0)) / B);
  }
  std::vector<float> dfeat((size_t)B * K * F);
  matmul_backward(dfeat.data(), G + cls_w_, G + cls_b_, dlogits.data(), features_.data(), P + cls_w_, B, K * F, C, false);
  if (!dropout_.empty())
    for (size_t i = 0; i < dfeat.size(); i++) dfeat[i] *= dropout_[i];
  std::vector<float> demb((size_t)B * T * E, 0.0f);
  for (int j = 0; j < K; j++) {
    const int k = config.kernels[j], W = T - k + 1;
    std::vector<float> dconv((size_t)B * W * F, 0.0f);
    const auto& conv = conv_[j];
    for (int b = 0; b < B; b++)
      for (int f = 0; f < F; f++) {
        const int i = argmax_[j][(size_t)b * F + f];
        if (conv[((size_t)b * W + i) * F + f] > 0.0f) dconv[((size_t)b * W + i) * F + f] = dfeat[(size_t)b * K * F + j * F + f];
      }
    std::vector<float> dwin((size_t)B * W * k * E);
    matmul_backward(dwin.data(), G + conv_w_[j], G + conv_b_[j], dconv.data(), windows_[j].data(), P + conv_w_[j], B * W, k * E, F, false);
    for (int b = 0; b < B; b++)
      for (int i = 0; i < W; i++) {
        const float* src = dwin.data() + ((size_t)b * W + i) * k * E;
        float* dst = demb.data() + ((size_t)b * T + i) * E;
        for (int x = 0; x < k * E; x++) dst[x] += src[x];
      }
  }
  for (int n = 0; n < B * T; n++) {
    int id = ids_[n];
    if (id < 0 || id >= config.V) continue;
    float* d = G + emb_ + (size_t)id * E;
    const float* s = demb.data() + (size_t)n * E;
    for (int x = 0; x < E; x++) d[x] += s[x];
  }
  return loss;
}

double Cnn::adam_step(double lr, double beta1, double beta2, double eps, double clip, int step) {
  return adam_update(params, grads, m, v, tensor_offsets, tensor_sizes, nullptr, lr, beta1, beta2, eps, clip, step);
}

}  // namespace rdlab
