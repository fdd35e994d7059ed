// Token choice and the generation loop of the native engine (see sampler.h).
#include "sampler.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "gpt2.h"
#include "kernels.h"

namespace rdlab {

namespace {

// An index drawn in proportion to weights[0 … V): u·total walked down (sampler.ts `draw`).
int draw(const double* weights, int V, double total, double u) {
  u *= total;
  for (int i = 0; i < V; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  for (int i = V - 1; i >= 0; i--)
    if (weights[i] > 0) return i;  // rounding left u a hair above 0
  return V - 1;
}

// The k-th largest of values[0 … V) (sampler.ts `kthLargest`: the value is unique, the method not).
double kth_largest(const double* values, int V, int k, std::vector<double>& copy) {
  copy.assign(values, values + V);
  std::nth_element(copy.begin(), copy.begin() + (V - k), copy.end());
  return copy[V - k];
}

void remember(uint8_t* seen, std::vector<int>& list, int id) {
  if (seen[id]) return;
  seen[id] = 1;
  list.push_back(id);
}

}  // namespace

RowChoice choose_token(const float* row, int V, double* scores, const SamplingSettings& s, const std::vector<int>* seen, double u) {
  double max = -std::numeric_limits<double>::infinity();
  for (int i = 0; i < V; i++)
    if ((double)row[i] > max) max = row[i];
  const bool top_k = s.top_k > 0 && s.top_k < V;
  const bool plain = s.temperature == 1 && seen == nullptr && !top_k;
  double raw_sum = 0;
  if (plain) {
    for (int i = 0; i < V; i++) {
      const double e = std::exp((double)row[i] - max);
      scores[i] = e;
      raw_sum += e;
    }
    const int token = draw(scores, V, raw_sum, u);
    const double logprob = (double)row[token] - max - std::log(raw_sum);
    return {token, logprob, logprob};
  }
  for (int i = 0; i < V; i++) {
    raw_sum += std::exp((double)row[i] - max);
    scores[i] = row[i];
  }
  if (seen) {
    // CTRL (Keskar et al., 2019) as Hugging Face applies it: shrink the logit towards less likely.
    for (int i : *seen) scores[i] = scores[i] < 0 ? scores[i] * s.penalty : scores[i] / s.penalty;
  }
  int token = 0;
  double sampling_logprob;
  if (s.temperature == 0) {
    for (int i = 1; i < V; i++)
      if (scores[i] > scores[token]) token = i;
    const double smax = scores[token];
    double total = 0;
    for (int i = 0; i < V; i++) total += std::exp(scores[i] - smax);
    sampling_logprob = -std::log(total);
  } else {
    thread_local std::vector<double> copy;
    const double cutoff = top_k ? kth_largest(scores, V, s.top_k, copy) : -std::numeric_limits<double>::infinity();
    double smax = -std::numeric_limits<double>::infinity();
    for (int i = 0; i < V; i++)
      if (scores[i] > smax) smax = scores[i];
    double total = 0;
    for (int i = 0; i < V; i++) {
      const double x = scores[i];
      const double e = x >= cutoff ? std::exp((x - smax) / s.temperature) : 0;
      scores[i] = e;
      total += e;
    }
    token = draw(scores, V, total, u);
    sampling_logprob = std::log(scores[token] / total);
  }
  return {token, (double)row[token] - max - std::log(raw_sum), sampling_logprob};
}

void Gpt2::sample(const int32_t* prefixes, int B, int p, const SamplingSettings& s, uint32_t rng_state[4], int32_t* ids, float* mask,
                  float* logprobs, float* sampling_logprobs) {
  const int T = s.T, V = config.V;
  if (p < 1 || T <= p) throw std::range_error("sample: maxLength " + std::to_string(T) + " must exceed the prefix length " + std::to_string(p));
  // The last token is chosen, never fed: T − 1 positions, as sampler.ts's decoder.
  if (T - 1 > config.P)
    throw std::range_error("sample: maxLength " + std::to_string(T) + " needs " + std::to_string(T - 1) + " positions, the model has " + std::to_string(config.P));
  Xoshiro128 rng{{rng_state[0], rng_state[1], rng_state[2], rng_state[3]}};
  std::fill(ids, ids + (size_t)B * T, s.eos);
  std::fill(mask, mask + (size_t)B * T, 0.0f);
  std::fill(logprobs, logprobs + (size_t)B * T, 0.0f);
  std::fill(sampling_logprobs, sampling_logprobs + (size_t)B * T, 0.0f);
  for (int b = 0; b < B; b++) std::copy(prefixes + (size_t)b * p, prefixes + (size_t)(b + 1) * p, ids + (size_t)b * T);

  // The repetition penalty's memory: a bitmap per row for membership, a list for the walk.
  const bool penalise = s.penalty != 1;
  std::vector<uint8_t> seen(penalise ? (size_t)B * V : 0);
  std::vector<std::vector<int>> seen_list(penalise ? B : 0);
  if (penalise)
    for (int b = 0; b < B; b++)
      for (int i = 0; i < p; i++) {
        const int id = prefixes[(size_t)b * p + i];
        remember(seen.data() + (size_t)b * V, seen_list[b], id);
      }

  std::vector<uint8_t> done(B, 0);
  std::vector<double> uniforms(B, 0.0);
  std::vector<float> logits((size_t)B * V);
  std::vector<int32_t> step(B);
  std::vector<RowChoice> chosen(B);
  const int threads = omp_get_max_threads();
  std::vector<double> scratch((size_t)threads * V);
  std::unique_ptr<Decoder> d(decoder_new(B));
  decoder_next(d.get(), prefixes, p, logits.data());
  for (int t = p; t < T; t++) {
    // The draws in sampler.ts's order (t, then b, finished rows skipped; none when greedy).
    if (s.temperature != 0)
      for (int b = 0; b < B; b++)
        if (!done[b]) uniforms[b] = rng.uniform();
#pragma omp parallel for schedule(dynamic, 1) if ((size_t)B * V >= PARALLEL_MIN)
    for (int b = 0; b < B; b++) {
      if (done[b]) continue;
      double* scores = scratch.data() + (size_t)omp_get_thread_num() * V;
      chosen[b] = choose_token(logits.data() + (size_t)b * V, V, scores, s, penalise ? &seen_list[b] : nullptr, uniforms[b]);
    }
    bool all_done = true;
    for (int b = 0; b < B; b++) {
      if (done[b]) {
        step[b] = s.eos;
        continue;
      }
      const RowChoice& c = chosen[b];
      const size_t at = (size_t)b * T + t;
      step[b] = c.token;
      ids[at] = c.token;
      mask[at] = 1.0f;
      logprobs[at] = (float)c.logprob;
      sampling_logprobs[at] = (float)c.sampling_logprob;
      if (penalise) remember(seen.data() + (size_t)b * V, seen_list[b], c.token);
      if (c.token == s.eos) done[b] = 1;
      all_done = all_done && done[b];
    }
    if (t == T - 1 || all_done) break;
    decoder_next(d.get(), step.data(), 1, logits.data());
  }
  for (int i = 0; i < 4; i++) rng_state[i] = rng.s[i];
}

}  // namespace rdlab
