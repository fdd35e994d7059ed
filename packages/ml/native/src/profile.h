// Phase timers for the native engine: where a training step's time goes. Off unless
// RDLAB_NATIVE_PROFILE is set when the addon loads; read and reset through `profile()`.
#pragma once
#include <array>
#include <chrono>
#include <cstdlib>

namespace rdlab {

enum Phase { P_EMBED, P_LAYERNORM, P_MATMUL, P_ATTENTION, P_GELU, P_RESIDUAL, P_HEAD, P_MATMUL_BWD, P_ATTENTION_BWD, P_LAYERNORM_BWD, P_GELU_BWD, P_HEAD_BWD, P_EMBED_BWD, P_ADAM, P_COUNT };

inline const char* phase_name(int p) {
  static const char* names[] = {"embedding",       "layernorm",        "matmul",       "attention",      "gelu",           "residual",
                                "lm_head+softmax", "matmul backward", "attention backward", "layernorm backward", "gelu backward", "lm_head backward",
                                "embedding backward", "adam"};
  return names[p];
}

struct Profile {
  bool enabled = std::getenv("RDLAB_NATIVE_PROFILE") != nullptr;
  std::array<double, P_COUNT> seconds{};
};

inline Profile& profile() {
  static Profile p;
  return p;
}

// Times the enclosing scope into `phase` when profiling is on.
class Timed {
 public:
  explicit Timed(Phase phase) : phase_(phase), on_(profile().enabled) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~Timed() {
    if (on_) profile().seconds[phase_] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  Phase phase_;
  bool on_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace rdlab
