// The reward classifier on the CPU: Kim (2014) CNN with max-over-time pooling, matching
// rdlab's TensorFlow.js classifier (classifier/tfjs-cnn.ts) parameter for parameter.
//
// Legend: B batch, T tokens, E embedding width, F filters per kernel width, K kernel widths,
// C classes, W = T − k + 1 windows of width k.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rdlab {

struct CnnConfig {
  int V, E, F, C;
  std::vector<int> kernels;
};

class Cnn {
 public:
  Cnn(const CnnConfig& config, const float* params);
  const CnnConfig config;
  // Always trainable: rdlab trains its CNN itself (the addon's classifier wrap asks).
  static constexpr bool trainable = true;
  size_t num_params;
  std::vector<float> params, grads, m, v;
  std::vector<size_t> tensor_offsets, tensor_sizes;

  // Class logits [B, C]; `dropout` [B, K·F] multiplies the pooled features when given.
  void forward(const int32_t* ids, const int32_t* lengths, int B, int T, const float* dropout, float* logits);
  // Mean cross-entropy backward after forward(); grads overwritten. Returns the loss.
  double backward(const int32_t* labels);
  double adam_step(double lr, double beta1, double beta2, double eps, double clip, int step);

 private:
  size_t emb_, cls_w_, cls_b_;
  std::vector<size_t> conv_w_, conv_b_;
  int B_ = 0, T_ = 0;
  std::vector<int32_t> ids_;
  std::vector<float> emb_out_, features_, dropout_, logits_;
  std::vector<std::vector<float>> windows_, conv_;  // per kernel: [B·W, k·E], [B·W, F] after ReLU
  std::vector<std::vector<int>> argmax_;            // per kernel: [B, F] window index of the max
};

}  // namespace rdlab
