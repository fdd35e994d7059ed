// GPT-2 on the CPU: forward, backward with a per-sample weighted loss, Adam, and KV-cached
// decoding. Parameters live in one buffer in the order of rdlab's gpt2ParameterShapes (Hugging
// Face names), so the TypeScript side reads and writes them by name with offsets.
//
// Legend: B batch, T positions, N = B·T rows, C width, V vocabulary, L layers, H heads,
// M rows that predict a target (the loss rows).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sampler.h"

namespace rdlab {

// Activations of the FFN (rdlab's DecoderConfig.activation).
enum Activation : int { GELU_TANH = 0, GELU_ERF = 1, RELU = 2 };

// One decoder description for GPT-2, OPT and XGLM (core's DecoderConfig); the defaults are GPT-2's,
// so a GPT-2 runs exactly the code it ran before the families came.
struct Gpt2Config {
  int V, P, C, L, H;
  float eps;
  int F = 0;                  // FFN width; 0 means GPT-2's 4C
  bool separate_qkv = false;  // OPT, XGLM: q/k/v/out_proj, fc1, fc2 are torch Linear [out, in]
  bool sinusoidal = false;    // XGLM: positions are a constant table (no parameter, no gradient)
  int pos_offset = 0;         // OPT, XGLM: position t reads row t + 2 of the table
  float embed_scale = 1.0f;   // XGLM: token embeddings × √C (input only, not the tied head)
  int activation = GELU_TANH;
  int ffn() const { return F > 0 ? F : 4 * C; }
};

// Offsets of one layer's tensors within the parameter buffer. GPT-2 has the fused c_attn
// (qkvw [C, 3C]); OPT and XGLM keep q, k and v apart (qw, kw, vw [C, C]) as their checkpoints do.
struct LayerOffsets {
  size_t ln1w, ln1b, qkvw, qkvb, attprojw, attprojb, ln2w, ln2b, fcw, fcb, fcprojw, fcprojb;
  size_t qw, qb, kw, kb, vw, vb;
};

struct Adam {
  std::vector<float> m, v;
};

class Gpt2 {
 public:
  // `frozen` (a model that only samples and scores, β): backward and Adam are refused. Either way
  // the gradient and Adam buffers (3× the parameters) are allocated on the first backward, Adam
  // step or set_adam, zeroed, so a model that is never trained holds its weights and activations only.
  Gpt2(const Gpt2Config& config, const float* params, bool frozen = false);
  static size_t parameter_count(const Gpt2Config& c) {
    const size_t C = c.C, F = c.ffn();
    const size_t positions = c.sinusoidal ? 0 : (size_t)(c.P + c.pos_offset) * C;
    // Per block: q, k, v, out (4C² + 4C), two LayerNorms (4C), fc (CF + F), proj (FC + C).
    return (size_t)c.V * C + positions + (size_t)c.L * (4 * C * C + 8 * C + 2 * C * F + F + C) + 2 * C;
  }

  const Gpt2Config config;
  const bool frozen;
  size_t num_params;
  std::vector<float> params;
  std::vector<float> grads;  // empty until the first backward / Adam step (ensure_training_state)
  Adam adam;                 // likewise
  // Per-tensor offsets and sizes, in checkpoint order (for freezing and the TypeScript side).
  std::vector<size_t> tensor_offsets, tensor_sizes;

  // Logits of every position [B, T, V].
  void logits(const int32_t* ids, int B, int T, float* out);
  // Logits of the last position only [B, V] (the recomputing decoder).
  void last_logits(const int32_t* ids, int B, int T, float* out);
  // Training forward: log p of each token given those before it [B, T] (0 at t = 0 and where
  // mask is 0 at t ≥ 1), keeping what backward needs. mask [B, T] marks the loss positions.
  void forward(const int32_t* ids, const float* mask, int B, int T, float* token_logprobs);
  // The batch size B of the activations backward() would read: the last forward()'s, 0 before one
  // or once logits() / last_logits() have overwritten them (the addon sizes coefficients by it).
  int forward_batch() const { return forward_B_; }
  // Allocates grads and the Adam moments, zeroed, if they are not yet (throws when frozen): the
  // state a fresh model would have had from its constructor, so lazy allocation changes no number.
  void ensure_training_state();
  // Bytes held by grads and the Adam moments (0 for a model never trained).
  size_t training_state_bytes() const { return (grads.capacity() + adam.m.capacity() + adam.v.capacity()) * sizeof(float); }
  // Backward of loss = mean_b(c_b · CE_b) after forward(); grads are overwritten. Returns the loss.
  double backward(const float* coefficients);
  // Clips the global gradient norm and applies Adam to tensors with trainable[i] != 0.
  // Returns the norm before clipping.
  double adam_step(double lr, double beta1, double beta2, double eps, double clip, int step, const uint8_t* trainable);

  // KV-cached decoding.
  struct Decoder {
    int B, Tmax, pos = 0;
    std::vector<float> k, v;  // [L, B, H, Tmax, D]
  };
  Decoder* decoder_new(int B);
  void decoder_next(Decoder* d, const int32_t* ids, int n, float* logits_out);

  // KV-cached generation with the token choice here (sampler.h): continues each [B, p] prefix
  // to s.T tokens, filling ids, mask, logprobs and sampling_logprobs [B, T] as sampler.ts's
  // `generate`; rng_state goes in before the first draw and comes out after the last.
  void sample(const int32_t* prefixes, int B, int p, const SamplingSettings& s, uint32_t rng_state[4], int32_t* ids, float* mask,
              float* logprobs, float* sampling_logprobs);

 private:
  std::vector<LayerOffsets> layers;
  size_t wte, wpe = 0, lnfw, lnfb;
  std::vector<float> sinusoid_;  // [P + pos_offset, C]: XGLM's positions
  const float* positions() const { return config.sinusoidal ? sinusoid_.data() : params.data() + wpe; }

  // The block's projections, as Conv1D [in, out] (GPT-2) or Linear [out, in] (OPT, XGLM).
  void proj_forward(float* out, const float* inp, size_t w, size_t b, int N, int I, int O);
  void proj_backward(float* dinp, size_t w, size_t b, const float* dout, const float* inp, int N, int I, int O);
  void qkv_forward(float* qkv, const float* ln, const LayerOffsets& o, int N);
  void qkv_backward(float* dln, const LayerOffsets& o, const float* dqkv, const float* ln, int N);
  void act_forward(float* out, const float* inp, size_t n);
  void act_backward(float* dinp, const float* inp, const float* dout, size_t n);

  // Training activations for the current (B, T), grown as needed.
  int B_ = 0, T_ = 0, M_ = 0, forward_B_ = 0;
  std::vector<int32_t> ids_;
  std::vector<float> mask_;
  std::vector<int> rows_;     // loss rows: n = b·T + t − 1 predicts ids[b·T + t]
  std::vector<int32_t> targets_;
  std::vector<float> res_;    // [(L+1), N, C] residual stream at each block input, and the last
  std::vector<float> resmid_; // [L, N, C] after attention
  std::vector<float> ln1_, ln1m_, ln1r_, qkv_, att_, atty_, ln2_, ln2m_, ln2r_, fch_, fchg_;
  std::vector<float> lnf_, lnfm_, lnfr_;
  std::vector<float> hrows_, probs_, logp_rows_;  // [M, C], [M, V], [M]
  std::vector<double> tokens_per_sample_;
  // Backward scratch.
  std::vector<float> dres_, dln_, dqkv_, datty_, dfch_, dhrows_, dlnf_, attscratch_;

  void embed(const int32_t* ids, int B, int T, int offset, float* out);
  // Runs the blocks and ln_f over res_ (training path), sized B×T.
  void run_blocks(int B, int T);
  void ensure(int B, int T);
};

}  // namespace rdlab
