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

struct Config {
  int V, P, C, L, H;
  float eps;
};

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
  // `params`: every tensor in gpt2ParameterShapes order (Hugging Face names), fp32.
  static std::unique_ptr<Gpt2Engine> create(const Config& config, const float* params, Precision precision);
  static size_t parameter_count(const Config& c) {
    const size_t C = c.C;
    return (size_t)c.V * C + (size_t)c.P * C + (size_t)c.L * (12 * C * C + 13 * C) + 2 * C;
  }

  virtual size_t num_params() const = 0;
  virtual size_t num_tensors() const = 0;
  virtual Precision precision() const = 0;

  // Logits at every position [B, T, V] / at the last one [B, V].
  virtual void logits(const int32_t* ids, int B, int T, float* out) = 0;
  virtual void last_logits(const int32_t* ids, int B, int T, float* out) = 0;
  // Training forward: token_logprobs [B, T] (0 at t = 0 and where mask is 0), keeping what
  // backward needs.
  virtual void forward(const int32_t* ids, const float* mask, int B, int T, float* token_logprobs) = 0;
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
  virtual void decoder_next(int handle, const int32_t* ids, int n, float* logits_out) = 0;
  virtual void decoder_free(int handle) = 0;

  // Generation with the token choice on the GPU (sampler.ts's sampleRow); rng_state in/out.
  virtual SampleResult sample(const int32_t* prefixes, int B, int p, const SampleOptions& options, uint32_t rng_state[4]) = 0;
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
