// Adam with global gradient-norm clipping over a flat parameter buffer, as torch.optim.Adam and
// torch.nn.utils.clip_grad_norm_ compute them; tensors with trainable[t] == 0 are left alone.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace rdlab {

inline double adam_update(std::vector<float>& params, const std::vector<float>& grads, std::vector<float>& m, std::vector<float>& v,
                          const std::vector<size_t>& offsets, const std::vector<size_t>& sizes, const uint8_t* trainable, double lr,
                          double beta1, double beta2, double eps, double clip, int step) {
  // Trainable tensors are contiguous runs of the buffer: one parallel loop per run, not per tensor.
  std::vector<std::pair<size_t, size_t>> spans;
  for (size_t t = 0; t < offsets.size(); t++) {
    if (trainable && !trainable[t]) continue;
    if (!spans.empty() && spans.back().first + spans.back().second == offsets[t]) spans.back().second += sizes[t];
    else spans.emplace_back(offsets[t], sizes[t]);
  }
  double sq = 0.0;
  for (const auto& [off, n] : spans) {
    const float* g = grads.data() + off;
    double s = 0.0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    sq += s;
  }
  const double norm = std::sqrt(sq);
  const float scale = clip > 0 ? (float)std::min(1.0, clip / (norm + 1e-6)) : 1.0f;
  const float b1 = (float)beta1, b2 = (float)beta2, e = (float)eps;
  const float step_size = (float)(lr / (1.0 - std::pow(beta1, step)));
  const float c2sqrt = (float)std::sqrt(1.0 - std::pow(beta2, step));
  for (const auto& [off, n] : spans) {
    float* p = params.data() + off;
    const float* g = grads.data() + off;
    float* mm = m.data() + off;
    float* vv = v.data() + off;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
      float gi = g[i] * scale;
      mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
      vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
      p[i] -= step_size * mm[i] / (std::sqrt(vv[i]) / c2sqrt + e);
    }
  }
  return norm;
}

}  // namespace rdlab
