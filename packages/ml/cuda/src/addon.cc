// N-API bindings of the CUDA engine (node-addon-api), compiled by the host compiler: engine.h has
// no CUDA types. Arrays cross as typed arrays and are copied; the model's buffers stay on the GPU.
// `deviceInfo()` never throws: a machine without a driver or a GPU gets {ok: false, reason}.
#include <napi.h>

#include <cstring>
#include <memory>
#include <string>

#include "engine.h"

namespace {

using rdlab_cuda::BertEngine;
using rdlab_cuda::Gpt2Engine;

rdlab_cuda::Precision precision_of(Napi::Env env, const Napi::Value& v) {
  const std::string p = v.IsString() ? v.As<Napi::String>().Utf8Value() : "fp32";
  if (p == "fp32") return rdlab_cuda::Precision::FP32;
  if (p == "tf32") return rdlab_cuda::Precision::TF32;
  if (p == "bf16") return rdlab_cuda::Precision::BF16;
  throw Napi::RangeError::New(env, "precision '" + p + "': expected fp32, tf32 or bf16");
}

Napi::String precision_name(Napi::Env env, rdlab_cuda::Precision p) {
  return Napi::String::New(env, p == rdlab_cuda::Precision::TF32 ? "tf32" : p == rdlab_cuda::Precision::BF16 ? "bf16" : "fp32");
}

// Every array and number a JavaScript caller passes is checked here, sized from the model and its
// own state (the last forward's batch, a decoder's batch), never from the TypeScript wrapper's
// say-so: a TypeError / RangeError names the argument and the expected vs found length.
template <typename T>
constexpr napi_typedarray_type typed_array_type();
template <>
constexpr napi_typedarray_type typed_array_type<float>() { return napi_float32_array; }
template <>
constexpr napi_typedarray_type typed_array_type<int32_t>() { return napi_int32_array; }
template <>
constexpr napi_typedarray_type typed_array_type<uint8_t>() { return napi_uint8_array; }
template <>
constexpr napi_typedarray_type typed_array_type<uint32_t>() { return napi_uint32_array; }

template <typename T>
Napi::TypedArrayOf<T> typed_of(const Napi::Value& v, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != typed_array_type<T>())
    throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a " +
                                            (typed_array_type<T>() == napi_float32_array ? "Float32Array"
                                             : typed_array_type<T>() == napi_int32_array ? "Int32Array"
                                             : typed_array_type<T>() == napi_uint8_array ? "Uint8Array"
                                                                                         : "Uint32Array"));
  return v.As<Napi::TypedArrayOf<T>>();
}

template <typename T>
const T* data_of(const Napi::Value& v, size_t expected, const char* what) {
  auto arr = typed_of<T>(v, what);
  if (arr.ElementLength() != expected)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected " + std::to_string(expected) + " elements, got " + std::to_string(arr.ElementLength()));
  return arr.Data();
}

constexpr long long INT_MAX_LL = 2147483647LL;

// An integer within [lo, hi], named in the error.
int int_value(const Napi::Value& v, const char* what, long long lo, long long hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= (double)lo && x <= (double)hi) || x != (double)(long long)x)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                             v.ToString().Utf8Value());
  return (int)x;
}

int int_arg(const Napi::CallbackInfo& info, size_t i, const char* what, long long lo = -INT_MAX_LL - 1, long long hi = INT_MAX_LL) {
  return int_value(info[i], what, lo, hi);
}

double number_value(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

double number_arg(const Napi::CallbackInfo& info, size_t i, const char* what) { return number_value(info[i], what); }

void check_ids(Napi::Env env, const int32_t* ids, size_t n, int V) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V) throw Napi::RangeError::New(env, "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(V));
}

// C++ exceptions from the engine (CUDA and cuBLAS errors) become JavaScript errors.
template <typename F>
auto guarded(Napi::Env env, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("cuda engine: ") + e.what());
  }
}

class CudaGpt2Wrap : public Napi::ObjectWrap<CudaGpt2Wrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaGpt2",
                       {InstanceMethod("logits", &CudaGpt2Wrap::Logits), InstanceMethod("lastLogits", &CudaGpt2Wrap::LastLogits),
                        InstanceMethod("forward", &CudaGpt2Wrap::Forward), InstanceMethod("backward", &CudaGpt2Wrap::Backward),
                        InstanceMethod("adamStep", &CudaGpt2Wrap::AdamStep), InstanceMethod("gradSquares", &CudaGpt2Wrap::GradSquares),
                        InstanceMethod("getParams", &CudaGpt2Wrap::GetParams), InstanceMethod("setParams", &CudaGpt2Wrap::SetParams),
                        InstanceMethod("getGrads", &CudaGpt2Wrap::GetGrads), InstanceMethod("getAdam", &CudaGpt2Wrap::GetAdam),
                        InstanceMethod("setAdam", &CudaGpt2Wrap::SetAdam), InstanceMethod("decoderNew", &CudaGpt2Wrap::DecoderNew),
                        InstanceMethod("decoderNext", &CudaGpt2Wrap::DecoderNext), InstanceMethod("decoderFree", &CudaGpt2Wrap::DecoderFree),
                        InstanceMethod("sample", &CudaGpt2Wrap::Sample), InstanceMethod("numParams", &CudaGpt2Wrap::NumParams),
                        InstanceMethod("precision", &CudaGpt2Wrap::PrecisionName), InstanceMethod("dispose", &CudaGpt2Wrap::Dispose),
                        InstanceMethod("trainingStateBytes", &CudaGpt2Wrap::TrainingStateBytes)});
  }

  // new CudaGpt2(config, params: Float32Array, precision: 'fp32' | 'tf32' | 'bf16', frozen?: boolean)
  explicit CudaGpt2Wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaGpt2Wrap>(info) {
    Napi::Env env = info.Env();
    auto c = info[0].As<Napi::Object>();
    auto get = [&](const char* key) {
      auto v = c.Get(key);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("config.") + key + ": expected a number");
      return v.As<Napi::Number>();
    };
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "config: expected an object");
    rdlab_cuda::Config cfg{get("vocab_size").Int32Value(), get("n_positions").Int32Value(), get("n_embd").Int32Value(),
                           get("n_layer").Int32Value(),    get("n_head").Int32Value(),      get("layer_norm_epsilon").FloatValue()};
    // The decoder description beyond GPT-2 (flat-gpt2.ts's engineDecoderConfig, as the native
    // addon reads it); absent: GPT-2.
    auto number = [&](const char* key, double fallback) { return c.Has(key) && c.Get(key).IsNumber() ? c.Get(key).As<Napi::Number>().DoubleValue() : fallback; };
    cfg.F = (int)number("ffn_dim", 0);
    cfg.separate_qkv = number("separate_qkv", 0) != 0;
    cfg.sinusoidal = number("sinusoidal", 0) != 0;
    cfg.pos_offset = (int)number("position_offset", 0);
    cfg.embed_scale = (float)number("embed_scale", 1);
    cfg.activation = (int)number("activation", rdlab_cuda::GELU_TANH);
    if (cfg.V < 1 || cfg.P < 1 || cfg.C < 1 || cfg.L < 1 || cfg.H < 1 || cfg.C % cfg.H != 0 || cfg.F < 0 || cfg.pos_offset < 0 || cfg.activation < 0 ||
        cfg.activation > 2 || (cfg.sinusoidal && cfg.C < 4))
      throw Napi::RangeError::New(env, "config: not a decoder the CUDA engine runs (sizes ≥ 1, n_embd divisible by n_head, activation 0-2)");
    const size_t expected = Gpt2Engine::parameter_count(cfg);
    const float* params = data_of<float>(info[1], expected, "parameters");
    const rdlab_cuda::Precision precision = precision_of(env, info[2]);
    const bool frozen = info.Length() > 3 && info[3].ToBoolean().Value();
    model_ = guarded(env, [&] { return Gpt2Engine::create(cfg, params, precision, frozen); });
    vocab_ = cfg.V;
    positions_ = cfg.P;
  }

 private:
  std::unique_ptr<Gpt2Engine> model_;
  int vocab_ = 0, positions_ = 0;

  Gpt2Engine& model(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "the model was disposed");
    return *model_;
  }

  Napi::Value Logits(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info, 1, "B", 1), T = int_arg(info, 2, "T", 1, positions_);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    check_ids(info.Env(), ids, (size_t)B * T, vocab_);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * T * vocab_);
    guarded(info.Env(), [&] { m.logits(ids, B, T, out.Data()); });
    return out;
  }

  Napi::Value LastLogits(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info, 1, "B", 1), T = int_arg(info, 2, "T", 1, positions_);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    check_ids(info.Env(), ids, (size_t)B * T, vocab_);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * vocab_);
    guarded(info.Env(), [&] { m.last_logits(ids, B, T, out.Data()); });
    return out;
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info, 2, "B", 1), T = int_arg(info, 3, "T", 1, positions_);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    const float* mask = data_of<float>(info[1], (size_t)B * T, "mask");
    check_ids(info.Env(), ids, (size_t)B * T, vocab_);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * T);
    guarded(info.Env(), [&] { m.forward(ids, mask, B, T, out.Data()); });
    return out;
  }

  // backward(coefficients: Float32Array [B], trainable: Uint8Array [tensors]) → loss
  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    // One coefficient per row of the batch the engine saved activations for, not the wrapper's B.
    if (m.forward_batch() == 0) throw Napi::Error::New(info.Env(), "backward: no forward() to differentiate (or logits() ran since)");
    const float* coef = data_of<float>(info[0], (size_t)m.forward_batch(), "coefficients");
    const uint8_t* trainable = data_of<uint8_t>(info[1], m.num_tensors(), "trainable");
    return Napi::Number::New(info.Env(), guarded(info.Env(), [&] { return m.backward(coef, trainable); }));
  }

  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const uint8_t* trainable = data_of<uint8_t>(info[6], m.num_tensors(), "trainable");
    const double lr = number_arg(info, 0, "lr"), b1 = number_arg(info, 1, "beta1"), b2 = number_arg(info, 2, "beta2"), eps = number_arg(info, 3, "eps"),
                 clip = number_arg(info, 4, "clip");
    const int step = int_arg(info, 5, "step", 1);
    return Napi::Number::New(info.Env(), guarded(info.Env(), [&] { return m.adam_step(lr, b1, b2, eps, clip, step, trainable); }));
  }

  Napi::Value GradSquares(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const std::vector<double> sq = guarded(info.Env(), [&] { return m.grad_squares(); });
    auto out = Napi::Float64Array::New(info.Env(), sq.size());
    std::memcpy(out.Data(), sq.data(), sq.size() * sizeof(double));
    return out;
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    auto out = Napi::Float32Array::New(info.Env(), m.num_params());
    guarded(info.Env(), [&] { m.get_params(out.Data()); });
    return out;
  }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const float* p = data_of<float>(info[0], m.num_params(), "parameters");
    guarded(info.Env(), [&] { m.set_params(p); });
    return info.Env().Undefined();
  }

  Napi::Value GetGrads(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    auto out = Napi::Float32Array::New(info.Env(), m.num_params());
    guarded(info.Env(), [&] { m.get_grads(out.Data()); });
    return out;
  }

  Napi::Value GetAdam(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    auto mm = Napi::Float32Array::New(info.Env(), m.num_params());
    auto vv = Napi::Float32Array::New(info.Env(), m.num_params());
    guarded(info.Env(), [&] { m.get_adam(mm.Data(), vv.Data()); });
    auto out = Napi::Array::New(info.Env(), 2);
    out.Set((uint32_t)0, mm);
    out.Set((uint32_t)1, vv);
    return out;
  }

  Napi::Value SetAdam(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const float* mm = data_of<float>(info[0], m.num_params(), "adam m");
    const float* vv = data_of<float>(info[1], m.num_params(), "adam v");
    guarded(info.Env(), [&] { m.set_adam(mm, vv); });
    return info.Env().Undefined();
  }

  Napi::Value DecoderNew(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info, 0, "B", 1);
    return Napi::Number::New(info.Env(), guarded(info.Env(), [&] { return m.decoder_new(B); }));
  }

  // decoderNext(handle, ids [B, n], n, B) → logits [B, V]
  Napi::Value DecoderNext(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int handle = int_arg(info, 0, "decoder"), n = int_arg(info, 2, "n", 1, positions_);
    // B is the decoder's own (the engine copies that many rows); a different one is refused.
    const int B = guarded(info.Env(), [&] { return m.decoder_batch(handle); });
    if (info.Length() > 3 && !info[3].IsUndefined() && int_arg(info, 3, "B") != B)
      throw Napi::RangeError::New(info.Env(), "B: expected " + std::to_string(B) + " (the decoder's batch), got " + info[3].ToString().Utf8Value());
    const int pos = m.decoder_position(handle);
    if (pos + n > positions_)
      throw Napi::RangeError::New(info.Env(), "n: decoding " + std::to_string(n) + " more positions after " + std::to_string(pos) + " passes n_positions " +
                                                  std::to_string(positions_));
    const int32_t* ids = data_of<int32_t>(info[1], (size_t)B * n, "ids");
    check_ids(info.Env(), ids, (size_t)B * n, vocab_);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * vocab_);
    guarded(info.Env(), [&] { m.decoder_next(handle, ids, n, out.Data()); });
    return out;
  }

  Napi::Value DecoderFree(const Napi::CallbackInfo& info) {
    if (model_) model_->decoder_free(int_arg(info, 0, "decoder"));
    return info.Env().Undefined();
  }

  // sample(prefixes [B, p], B, p, {maxLength, temperature, topK, repetitionPenalty, eosId}, rngState: Uint32Array(4))
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& m = model(env);
    const int B = int_arg(info, 1, "B", 1), p = int_arg(info, 2, "p", 1, positions_);
    const int32_t* prefixes = data_of<int32_t>(info[0], (size_t)B * p, "prefixes");
    check_ids(env, prefixes, (size_t)B * p, vocab_);
    if (!info[3].IsObject()) throw Napi::TypeError::New(env, "sampling: expected {maxLength, temperature, topK, repetitionPenalty, eosId}");
    auto o = info[3].As<Napi::Object>();
    rdlab_cuda::SampleOptions opts{int_value(o.Get("maxLength"), "sampling.maxLength", 2, INT_MAX_LL), number_value(o.Get("temperature"), "sampling.temperature"),
                                   int_value(o.Get("topK"), "sampling.topK", 0, INT_MAX_LL), number_value(o.Get("repetitionPenalty"), "sampling.repetitionPenalty"),
                                   int_value(o.Get("eosId"), "sampling.eosId", -1, vocab_ - 1)};
    if (!(opts.temperature >= 0)) throw Napi::RangeError::New(env, "sampling.temperature: expected ≥ 0, got " + std::to_string(opts.temperature));
    if (!(opts.penalty > 0)) throw Napi::RangeError::New(env, "sampling.repetitionPenalty: expected > 0, got " + std::to_string(opts.penalty));
    if (opts.max_length <= p)
      throw Napi::RangeError::New(env, "sample: maxLength " + std::to_string(opts.max_length) + " must exceed the prefix length " + std::to_string(p));
    if (opts.max_length - 1 > positions_)
      throw Napi::RangeError::New(env, "sample: maxLength " + std::to_string(opts.max_length) + " needs " + std::to_string(opts.max_length - 1) +
                                           " positions, the model has " + std::to_string(positions_));
    auto state = typed_of<uint32_t>(info[4], "rngState");
    if (state.ElementLength() != 4) throw Napi::RangeError::New(env, "rngState: expected 4 elements, got " + std::to_string(state.ElementLength()));
    uint32_t s[4] = {state[0], state[1], state[2], state[3]};
    rdlab_cuda::SampleResult r = guarded(env, [&] { return m.sample(prefixes, B, p, opts, s); });
    for (int i = 0; i < 4; i++) state[i] = s[i];
    const size_t n = r.ids.size();
    auto ids = Napi::Int32Array::New(env, n);
    auto mask = Napi::Float32Array::New(env, n);
    auto lp = Napi::Float32Array::New(env, n);
    auto slp = Napi::Float32Array::New(env, n);
    std::memcpy(ids.Data(), r.ids.data(), n * sizeof(int32_t));
    std::memcpy(mask.Data(), r.mask.data(), n * sizeof(float));
    std::memcpy(lp.Data(), r.token_logprobs.data(), n * sizeof(float));
    std::memcpy(slp.Data(), r.sampling_logprobs.data(), n * sizeof(float));
    auto out = Napi::Object::New(env);
    out.Set("ids", ids);
    out.Set("mask", mask);
    out.Set("tokenLogprobs", lp);
    out.Set("samplingLogprobs", slp);
    return out;
  }

  Napi::Value NumParams(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)model(info.Env()).num_params()); }
  Napi::Value TrainingStateBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), (double)model(info.Env()).training_state_bytes());
  }

  Napi::Value PrecisionName(const Napi::CallbackInfo& info) { return precision_name(info.Env(), model(info.Env()).precision()); }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }
};

// The BERT reward model, for scoring only (bert.cu): new CudaBert(config, params: Float32Array,
// precision). `config` names the fields as Hugging Face's config.json (and NativeBert) does.
// getAdam / setAdam exist for the shared parameter wrapper and refuse: there is no Adam state.
class CudaBertWrap : public Napi::ObjectWrap<CudaBertWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaBert",
                       {InstanceMethod("logits", &CudaBertWrap::Logits), InstanceMethod("getParams", &CudaBertWrap::GetParams),
                        InstanceMethod("setParams", &CudaBertWrap::SetParams), InstanceMethod("getAdam", &CudaBertWrap::NoAdam),
                        InstanceMethod("setAdam", &CudaBertWrap::NoAdam), InstanceMethod("numParams", &CudaBertWrap::NumParams),
                        InstanceMethod("precision", &CudaBertWrap::PrecisionName), InstanceMethod("dispose", &CudaBertWrap::Dispose)});
  }

  explicit CudaBertWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaBertWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "config: expected an object");
    auto c = info[0].As<Napi::Object>();
    auto get = [&](const char* key) {
      auto v = c.Get(key);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("config.") + key + ": expected a number");
      return v.As<Napi::Number>();
    };
    rdlab_cuda::BertConfig cfg{get("vocab_size").Int32Value(),        get("max_position_embeddings").Int32Value(), get("type_vocab_size").Int32Value(),
                               get("hidden_size").Int32Value(),       get("num_hidden_layers").Int32Value(),       get("num_attention_heads").Int32Value(),
                               get("intermediate_size").Int32Value(), get("num_labels").Int32Value(),              get("layer_norm_eps").FloatValue()};
    if (cfg.V < 1 || cfg.P < 1 || cfg.types < 1 || cfg.C < 1 || cfg.L < 1 || cfg.H < 1 || cfg.C % cfg.H != 0 || cfg.F < 1 || cfg.K < 1)
      throw Napi::RangeError::New(env, "config: not a BERT the CUDA engine runs (sizes ≥ 1, hidden_size a multiple of num_attention_heads)");
    const float* params = data_of<float>(info[1], BertEngine::parameter_count(cfg), "parameters");
    const rdlab_cuda::Precision precision = precision_of(env, info[2]);
    model_ = guarded(env, [&] { return BertEngine::create(cfg, params, precision); });
    config_ = cfg;
  }

 private:
  std::unique_ptr<BertEngine> model_;
  rdlab_cuda::BertConfig config_{};

  BertEngine& model(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "the model was disposed");
    return *model_;
  }

  // logits(ids [B, T], lengths [B], B, T) → [B, K]
  Napi::Value Logits(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto& m = model(env);
    const int B = int_arg(info, 2, "B", 1), T = int_arg(info, 3, "T", 1, config_.P);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    const int32_t* lengths = data_of<int32_t>(info[1], (size_t)B, "lengths");
    check_ids(env, ids, (size_t)B * T, config_.V);
    auto out = Napi::Float32Array::New(env, (size_t)B * config_.K);
    guarded(env, [&] { m.logits(ids, lengths, B, T, out.Data()); });
    return out;
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    auto out = Napi::Float32Array::New(info.Env(), m.num_params());
    guarded(info.Env(), [&] { m.get_params(out.Data()); });
    return out;
  }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const float* p = data_of<float>(info[0], m.num_params(), "parameters");
    guarded(info.Env(), [&] { m.set_params(p); });
    return info.Env().Undefined();
  }

  Napi::Value NoAdam(const Napi::CallbackInfo& info) {
    throw Napi::Error::New(info.Env(), "the CUDA BERT scores only (fine-tuning stays on the CPU engines): it has no Adam state");
  }

  Napi::Value NumParams(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)model(info.Env()).num_params()); }
  Napi::Value PrecisionName(const Napi::CallbackInfo& info) { return precision_name(info.Env(), model(info.Env()).precision()); }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }
};

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  const rdlab_cuda::DeviceInfo d = rdlab_cuda::device_info();
  auto out = Napi::Object::New(info.Env());
  out.Set("ok", Napi::Boolean::New(info.Env(), d.ok));
  out.Set("reason", Napi::String::New(info.Env(), d.reason));
  out.Set("name", Napi::String::New(info.Env(), d.name));
  out.Set("count", Napi::Number::New(info.Env(), d.count));
  out.Set("totalMemory", Napi::Number::New(info.Env(), (double)d.total_memory));
  out.Set("freeMemory", Napi::Number::New(info.Env(), (double)d.free_memory));
  out.Set("capability", Napi::String::New(info.Env(), std::to_string(d.major) + "." + std::to_string(d.minor)));
  out.Set("driverVersion", Napi::Number::New(info.Env(), d.driver));
  out.Set("runtimeVersion", Napi::Number::New(info.Env(), d.runtime));
  return out;
}

Napi::Value SgemmGflops(const Napi::CallbackInfo& info) {
  const int n = int_arg(info, 0, "n", 1, 65536);
  const double seconds = number_arg(info, 1, "seconds");
  const bool tf32 = info.Length() > 2 && info[2].ToBoolean().Value();
  return Napi::Number::New(info.Env(), guarded(info.Env(), [&] { return rdlab_cuda::sgemm_gflops(n, seconds, tf32); }));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CudaGpt2", CudaGpt2Wrap::Define(env));
  exports.Set("CudaBert", CudaBertWrap::Define(env));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo));
  exports.Set("sgemmGflops", Napi::Function::New(env, SgemmGflops));
  return exports;
}

}  // namespace

NODE_API_MODULE(rdlab_cuda, Init)
