// The BERT reward model on the CPU: transformers' BertForSequenceClassification (modeling_bert.py)
// for inference and fine-tuning. Embeddings (word + position + token type 0) → LayerNorm →
// post-LN encoder blocks (bidirectional self-attention over each row's first `length` tokens →
// dense → residual → LayerNorm; intermediate dense → erf GELU → dense → residual → LayerNorm) →
// pooler (dense + tanh on the first token) → dropout → classifier dense.
//
// Legend: B batch, T positions, N = B·T rows, C hidden size, H heads, D = C/H, F intermediate
// size, K labels. Weights are torch.nn.Linear [out, in], as the checkpoint stores them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rdlab {

struct BertConfig {
  int V, P, types, C, L, H, F, K;
  float eps;
};

class Bert {
 public:
  // `trainable` false (a frozen scorer) allocates no gradient or Adam buffers.
  Bert(const BertConfig& config, const float* params, bool trainable);
  static size_t parameter_count(const BertConfig& c);
  const BertConfig config;
  const bool trainable;
  size_t num_params;
  std::vector<float> params, grads, m, v;
  std::vector<size_t> tensor_offsets, tensor_sizes;

  // Logits [B, K] for ids [B, T] whose row b attends to its first lengths[b] tokens (the key
  // padding mask of an attention mask of 1s then 0s); `dropout` [B, C] multiplies the pooled
  // output when given (training).
  void forward(const int32_t* ids, const int32_t* lengths, int B, int T, const float* dropout, float* logits);
  // Mean cross-entropy backward after forward(); grads overwritten. Returns the loss.
  double backward(const int32_t* labels);
  double adam_step(double lr, double beta1, double beta2, double eps, double clip, int step);

 private:
  struct LayerOffsets {
    size_t q_w, q_b, k_w, k_b, v_w, v_b, ao_w, ao_b, ln1_w, ln1_b, i_w, i_b, o_w, o_b, ln2_w, ln2_b;
  };
  struct LayerActs {
    std::vector<float> qkv, att, ctx, res1, a, ln1_mean, ln1_rstd, f, g, res2, out, ln2_mean, ln2_rstd;
  };
  size_t word_, pos_, type_, eln_w_, eln_b_, pool_w_, pool_b_, cls_w_, cls_b_;
  std::vector<LayerOffsets> layers_;
  int B_ = 0, T_ = 0;
  std::vector<int32_t> ids_, lengths_;
  std::vector<float> emb_, emb_mean_, emb_rstd_, h0_, cls_, pooled_, dropped_, dropout_, logits_;
  std::vector<LayerActs> acts_;
};

}  // namespace rdlab
