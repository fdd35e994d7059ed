// The CUDA engine as the N-API addon sees it: plain C++ (no CUDA types), so addon.cc compiles with
// the host compiler alone. One implementation per precision sits behind `Gpt2Engine` (gpt2.cu).
//
// Legend: B batch, T positions, V vocabulary, C width, L layers, H heads, P positions of the model.
// Arrays that cross are host arrays, row-major (`ids[b * T + t]`); everything else stays on the GPU.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rdlab_cuda {

// Activations of the FFN (rdlab's DecoderConfig.activation), as the native engine numbers them.
enum Activation : int { GELU_TANH = 0, GELU_ERF = 1, RELU = 2 };

// One decoder description for GPT-2, OPT and XGLM (core's DecoderConfig; native/src/gpt2.h's
// Gpt2Config field for field); the defaults are GPT-2's.
struct Config {
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

// The vocabulary as the GPU holds it: V rounded up to a multiple of 64 (GPT-2's 50,257 → 50,304),
// as llm.c pads it, so the head GEMMs' leading dimension is aligned for cuBLAS's fast kernels. The
// padded rows of wte are zero and never trained; padded logits are left out of the softmax, the
// loss and sampling, and never cross to JavaScript.
inline int padded_vocab(int V) { return (V + 63) / 64 * 64; }

// fp32: IEEE single precision everywhere (cuBLAS without TF32), the parity setting.
// tf32: fp32 storage, TensorFloat-32 tensor cores in the GEMMs (as torch's allow_tf32).
// bf16: bfloat16 activations and GEMM inputs, fp32 master weights, gradients, Adam and accumulation.
enum class Precision { FP32, TF32, BF16 };

// What `sample` takes: sampler.ts's settings, the generator as xoshiro128** state.
struct SampleOptions {
  int max_length;      // T, prefix included
  double temperature;  // 0: greedy
  int top_k;           // 0: all
  double penalty;      // 1: off
  int eos;             // -1: never ends
};

struct SampleResult {
  std::vector<int32_t> ids;           // [B, T]
  std::vector<float> mask;            // [B, T]
  std::vector<float> token_logprobs;  // [B, T]
  std::vector<float> sampling_logprobs;
};

class Gpt2Engine {
 public:
  virtual ~Gpt2Engine() = default;
  // `params`: every tensor in gpt2ParameterShapes order (Hugging Face names), fp32. `frozen`: for
  // sampling and scoring only (β): backward, Adam and the gradient / Adam copies throw. Either way
  // the gradient and Adam buffers (3× the parameters, fp32) are allocated, zeroed, on the first
  // backward, Adam step or set_adam, so a model that is never trained holds weights and activations only.
  static std::unique_ptr<Gpt2Engine> create(const Config& config, const float* params, Precision precision, bool frozen = false);
  // The checkpoint's count (unpadded vocabulary), as native/src/gpt2.h counts it.
  static size_t parameter_count(const Config& c) {
    const size_t C = c.C, F = c.ffn();
    const size_t positions = c.sinusoidal ? 0 : (size_t)(c.P + c.pos_offset) * C;
    // Per block: q, k, v, out (4C² + 4C), two LayerNorms (4C), fc (CF + F), proj (FC + C).
    return (size_t)c.V * C + positions + (size_t)c.L * (4 * C * C + 8 * C + 2 * C * F + F + C) + 2 * C;
  }

  virtual size_t num_params() const = 0;
  virtual size_t num_tensors() const = 0;
  virtual Precision precision() const = 0;
  virtual bool frozen() const = 0;
  // Bytes of GPU memory held by the gradient and Adam buffers (0 until the first training call).
  virtual size_t training_state_bytes() const = 0;

  // Logits at every position [B, T, V] / at the last one [B, V].
  virtual void logits(const int32_t* ids, int B, int T, float* out) = 0;
  virtual void last_logits(const int32_t* ids, int B, int T, float* out) = 0;
  // Training forward: token_logprobs [B, T] (0 at t = 0 and where mask is 0), keeping what
  // backward needs.
  virtual void forward(const int32_t* ids, const float* mask, int B, int T, float* token_logprobs) = 0;
  // The B of the activations backward would read: the last forward's, 0 before one or once
  // logits / last_logits have overwritten them (the addon sizes coefficients by it).
  virtual int forward_batch() const = 0;
  // Gradients of loss = mean_b(c_b · CE_b) for the tensors with trainable[i] != 0 (the rest are 0);
  // returns the loss.
  virtual double backward(const float* coefficients, const uint8_t* trainable) = 0;
  // Global-norm clipping (clip 0: off) and Adam on trainable tensors; returns the norm before clipping.
  virtual double adam_step(double lr, double beta1, double beta2, double eps, double clip, int step, const uint8_t* trainable) = 0;
  // Σ g² of each tensor's gradient, in checkpoint order.
  virtual std::vector<double> grad_squares() = 0;

  virtual void get_params(float* out) = 0;
  virtual void set_params(const float* in) = 0;
  virtual void get_grads(float* out) = 0;
  virtual void get_adam(float* m, float* v) = 0;
  virtual void set_adam(const float* m, const float* v) = 0;

  // KV-cached decoding: a handle, then [B, n] ids at a time → logits of the last [B, V].
  virtual int decoder_new(int B) = 0;
  virtual int decoder_position(int handle) = 0;
  virtual int decoder_batch(int handle) = 0;
  virtual void decoder_next(int handle, const int32_t* ids, int n, float* logits_out) = 0;
  virtual void decoder_free(int handle) = 0;

  // Generation with the token choice on the GPU (sampler.ts's sampleRow); rng_state in/out.
  virtual SampleResult sample(const int32_t* prefixes, int B, int p, const SampleOptions& options, uint32_t rng_state[4]) = 0;
};

// transformers' BertForSequenceClassification for scoring (native/src/bert.h's BertConfig field for
// field): V vocabulary, P positions, `types` token types, C hidden, L layers, H heads, F
// intermediate, K labels.
struct BertConfig {
  int V, P, types, C, L, H, F, K;
  float eps;
};

// The BERT reward model on the GPU, inference only (bert.cu): fine-tuning stays on the CPU engines,
// so it keeps no gradients or Adam state. Parameters: bertParameterShapes' order, fp32.
class BertEngine {
 public:
  virtual ~BertEngine() = default;
  static std::unique_ptr<BertEngine> create(const BertConfig& config, const float* params, Precision precision);
  // native/src/bert.cc's count.
  static size_t parameter_count(const BertConfig& c) {
    const size_t C = c.C, F = c.F;
    const size_t layer = 4 * (C * C + C) + 2 * C + (F * C + F) + (C * F + C) + 2 * C;
    return (size_t)(c.V + c.P + c.types) * C + 2 * C + c.L * layer + (C * C + C) + (c.K * C + c.K);
  }
  virtual size_t num_params() const = 0;
  virtual Precision precision() const = 0;
  // Class logits [B, K] of ids [B, T] right-padded, row b attending to its first lengths[b] tokens
  // (clamped to [1, T], as bert.cc does); T ≤ P.
  virtual void logits(const int32_t* ids, const int32_t* lengths, int B, int T, float* out) = 0;
  virtual void get_params(float* out) = 0;
  virtual void set_params(const float* in) = 0;
};

// The device, or why there is none: {ok, reason, name, memory, capability, driver, runtime}.
struct DeviceInfo {
  bool ok = false;
  std::string reason;
  std::string name;
  size_t total_memory = 0, free_memory = 0;
  int major = 0, minor = 0, driver = 0, runtime = 0, count = 0;
};
DeviceInfo device_info();

// Square fp32 GEMM rate through cuBLAS, GFLOP/s (tf32 when asked).
double sgemm_gflops(int n, double seconds, bool tf32);

}  // namespace rdlab_cuda
