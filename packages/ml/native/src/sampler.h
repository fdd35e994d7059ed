// Token choice in the engine: the same choices as packages/ml/src/sampler.ts's `sampleRow` and
// `generate`, from the same xoshiro128** stream, so a seed gives the same samples whichever
// side chooses. Keeping the choice here saves a [B, V] copy to JavaScript per token and lets
// the rows run in parallel: the uniforms are drawn first, in sampler.ts's order, then each row
// chooses on its own.
//
// Arithmetic mirrors sampler.ts step for step (double accumulation in the same order, float32
// logits widened), so a token differs only if a draw lands within rounding of a boundary.
//
// Legend: B batch, p prefix length, T total length (prefix included), V vocabulary.
#pragma once
#include <cstdint>
#include <vector>

namespace rdlab {

// xoshiro128** as packages/core/src/rng.ts: state in, the same words out after the draws.
struct Xoshiro128 {
  uint32_t s[4];
  uint32_t next_uint32() {
    const uint32_t result = rotl(s[1] * 5u, 7) * 9u;
    const uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }
  // A double in [0, 1) with 53 random bits (Rng.uniform).
  double uniform() {
    const uint32_t a = next_uint32() >> 5, b = next_uint32() >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
  }

 private:
  static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
};

struct SamplingSettings {
  int T;
  double temperature;  // 0: greedy
  int top_k;           // 0: all
  double penalty;      // 1: off
  int eos;             // −1: never ends
};

struct RowChoice {
  int token;
  double logprob;           // under the model (temperature 1, no penalty)
  double sampling_logprob;  // under the distribution drawn from
};

// One row's choice (sampleRow). `seen` lists the distinct tokens already in the row (null: no
// penalty); `scores` is scratch of V doubles; `u` the row's uniform (unused when greedy).
RowChoice choose_token(const float* row, int V, double* scores, const SamplingSettings& s, const std::vector<int>* seen, double u);

}  // namespace rdlab
