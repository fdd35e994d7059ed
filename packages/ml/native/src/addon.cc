// N-API bindings of the native engine (node-addon-api). Arrays cross the boundary as typed
// arrays and are copied, so every buffer a JavaScript value holds is owned by V8 and freed with
// it; models and decoders are freed by dispose() or, failing that, by the garbage collector.
#include <napi.h>
#include <omp.h>

#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "bert.h"
#include "cnn.h"
#include "gpt2.h"
#include "kernels.h"
#include "profile.h"

extern "C" int openblas_get_num_threads(void);
extern "C" char* openblas_get_config(void);

namespace {

using rdlab::Cnn;
using rdlab::Gpt2;

// The typed array a caller passed, checked here rather than trusted from the TypeScript wrapper:
// its element type and its length (a TypeError / RangeError naming the argument otherwise).
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
  if (expected != (size_t)-1 && arr.ElementLength() != expected)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected " + std::to_string(expected) + " elements, got " + std::to_string(arr.ElementLength()));
  return arr.Data();
}

// An integer argument within [lo, hi], named in the error.
int int_arg(const Napi::Value& v, const char* what, long long lo, long long hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= (double)lo && x <= (double)hi) || x != (double)(long long)x)
    throw Napi::RangeError::New(v.Env(), std::string(what) + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                                             v.ToString().Utf8Value());
  return (int)x;
}

double number_arg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

constexpr long long INT_MAX_LL = 2147483647LL;

Napi::Float32Array copy_out(Napi::Env env, const float* src, size_t n) {
  auto out = Napi::Float32Array::New(env, n);
  std::memcpy(out.Data(), src, n * sizeof(float));
  return out;
}

void check_ids(Napi::Env env, const int32_t* ids, size_t n, int V) {
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V) throw Napi::RangeError::New(env, "token id " + std::to_string(ids[i]) + " is outside the vocabulary of " + std::to_string(V));
}

class Gpt2Wrap : public Napi::ObjectWrap<Gpt2Wrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeGpt2",
                       {InstanceMethod("logits", &Gpt2Wrap::Logits), InstanceMethod("lastLogits", &Gpt2Wrap::LastLogits),
                        InstanceMethod("forward", &Gpt2Wrap::Forward), InstanceMethod("backward", &Gpt2Wrap::Backward),
                        InstanceMethod("adamStep", &Gpt2Wrap::AdamStep), InstanceMethod("getParams", &Gpt2Wrap::GetParams),
                        InstanceMethod("setParams", &Gpt2Wrap::SetParams), InstanceMethod("getGrads", &Gpt2Wrap::GetGrads),
                        InstanceMethod("getAdam", &Gpt2Wrap::GetAdam), InstanceMethod("setAdam", &Gpt2Wrap::SetAdam),
                        InstanceMethod("decoderNew", &Gpt2Wrap::DecoderNew), InstanceMethod("decoderNext", &Gpt2Wrap::DecoderNext),
                        InstanceMethod("decoderFree", &Gpt2Wrap::DecoderFree), InstanceMethod("sample", &Gpt2Wrap::Sample),
                        InstanceMethod("dispose", &Gpt2Wrap::Dispose),
                        InstanceMethod("numParams", &Gpt2Wrap::NumParams),
                        InstanceMethod("trainingStateBytes", &Gpt2Wrap::TrainingStateBytes)});
  }

  explicit Gpt2Wrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Gpt2Wrap>(info) {
    auto c = info[0].As<Napi::Object>();
    rdlab::Gpt2Config cfg{c.Get("vocab_size").As<Napi::Number>().Int32Value(), c.Get("n_positions").As<Napi::Number>().Int32Value(),
                          c.Get("n_embd").As<Napi::Number>().Int32Value(), c.Get("n_layer").As<Napi::Number>().Int32Value(),
                          c.Get("n_head").As<Napi::Number>().Int32Value(), c.Get("layer_norm_epsilon").As<Napi::Number>().FloatValue()};
    // The decoder description beyond GPT-2 (flat-gpt2.ts's engineDecoderConfig); absent: GPT-2.
    auto number = [&](const char* key, double fallback) { return c.Has(key) && c.Get(key).IsNumber() ? c.Get(key).As<Napi::Number>().DoubleValue() : fallback; };
    cfg.F = (int)number("ffn_dim", 0);
    cfg.separate_qkv = number("separate_qkv", 0) != 0;
    cfg.sinusoidal = number("sinusoidal", 0) != 0;
    cfg.pos_offset = (int)number("position_offset", 0);
    cfg.embed_scale = (float)number("embed_scale", 1);
    cfg.activation = (int)number("activation", rdlab::GELU_TANH);
    auto arr = info[1].As<Napi::Float32Array>();
    const size_t expected = Gpt2::parameter_count(cfg);
    if (arr.ElementLength() != expected)
      throw Napi::RangeError::New(info.Env(), "parameters: expected " + std::to_string(expected) + " floats, got " + std::to_string(arr.ElementLength()));
    // info[2]: frozen (sampling and scoring only; no gradients or Adam state, ever).
    model_ = std::make_unique<Gpt2>(cfg, arr.Data(), info.Length() > 2 && info[2].ToBoolean().Value());
  }

  ~Gpt2Wrap() { release(); }

 private:
  std::unique_ptr<Gpt2> model_;
  std::map<int, Gpt2::Decoder*> decoders_;
  int next_decoder_ = 1;

  void release() {
    for (auto& [id, d] : decoders_) delete d;
    decoders_.clear();
    model_.reset();
  }

  Gpt2& model(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "the model was disposed");
    return *model_;
  }

  // The model, its gradient and Adam buffers allocated (zeroed on first use); a frozen model refuses.
  Gpt2& training(Napi::Env env) {
    auto& m = model(env);
    if (m.frozen) throw Napi::Error::New(env, "the language model was loaded frozen (sampling and scoring only): it has no gradients or Adam state");
    m.ensure_training_state();
    return m;
  }

  Napi::Value Logits(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info[1], "B", 1, INT_MAX_LL), T = int_arg(info[2], "T", 1, m.config.P);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    check_ids(info.Env(), ids, (size_t)B * T, m.config.V);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * T * m.config.V);
    m.logits(ids, B, T, out.Data());
    return out;
  }

  Napi::Value LastLogits(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info[1], "B", 1, INT_MAX_LL), T = int_arg(info[2], "T", 1, m.config.P);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    check_ids(info.Env(), ids, (size_t)B * T, m.config.V);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * m.config.V);
    m.last_logits(ids, B, T, out.Data());
    return out;
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info[2], "B", 1, INT_MAX_LL), T = int_arg(info[3], "T", 1, m.config.P);
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    const float* mask = data_of<float>(info[1], (size_t)B * T, "mask");
    check_ids(info.Env(), ids, (size_t)B * T, m.config.V);
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * T);
    m.forward(ids, mask, B, T, out.Data());
    return out;
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto& m = training(info.Env());
    // One coefficient per row of the batch the last forward() saw (none: nothing to differentiate).
    if (m.forward_batch() == 0) throw Napi::Error::New(info.Env(), "backward: no forward() to differentiate (or logits() ran since)");
    const float* coef = data_of<float>(info[0], (size_t)m.forward_batch(), "coefficients");
    if (info.Length() > 1 && !info[1].IsUndefined()) data_of<uint8_t>(info[1], m.tensor_offsets.size(), "trainable");
    return Napi::Number::New(info.Env(), m.backward(coef));
  }

  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    auto& m = training(info.Env());
    const uint8_t* trainable = data_of<uint8_t>(info[6], m.tensor_offsets.size(), "trainable");
    double norm = m.adam_step(number_arg(info[0], "lr"), number_arg(info[1], "beta1"), number_arg(info[2], "beta2"), number_arg(info[3], "eps"),
                              number_arg(info[4], "clip"), int_arg(info[5], "step", 1, INT_MAX_LL), trainable);
    return Napi::Number::New(info.Env(), norm);
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) { return copy_out(info.Env(), model(info.Env()).params.data(), model(info.Env()).num_params); }
  Napi::Value GetGrads(const Napi::CallbackInfo& info) { return copy_out(info.Env(), training(info.Env()).grads.data(), model(info.Env()).num_params); }
  Napi::Value NumParams(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)model(info.Env()).num_params); }
  Napi::Value TrainingStateBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), (double)model(info.Env()).training_state_bytes());
  }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const float* p = data_of<float>(info[0], m.num_params, "parameters");
    std::memcpy(m.params.data(), p, m.num_params * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value GetAdam(const Napi::CallbackInfo& info) {
    auto& m = training(info.Env());
    auto out = Napi::Array::New(info.Env(), 2);
    out.Set((uint32_t)0, copy_out(info.Env(), m.adam.m.data(), m.num_params));
    out.Set((uint32_t)1, copy_out(info.Env(), m.adam.v.data(), m.num_params));
    return out;
  }

  Napi::Value SetAdam(const Napi::CallbackInfo& info) {
    auto& m = training(info.Env());
    const float* mm = data_of<float>(info[0], m.num_params, "adam m");
    const float* vv = data_of<float>(info[1], m.num_params, "adam v");
    std::memcpy(m.adam.m.data(), mm, m.num_params * sizeof(float));
    std::memcpy(m.adam.v.data(), vv, m.num_params * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value DecoderNew(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    const int B = int_arg(info[0], "B", 1, INT_MAX_LL);
    int id = next_decoder_++;
    decoders_[id] = m.decoder_new(B);
    return Napi::Number::New(info.Env(), id);
  }

  Napi::Value DecoderNext(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    auto it = decoders_.find(info[0].As<Napi::Number>().Int32Value());
    if (it == decoders_.end()) throw Napi::Error::New(info.Env(), "no such decoder (disposed?)");
    const int n = int_arg(info[2], "n", 1, m.config.P);
    // B is the decoder's own; a B passed after n must agree with it.
    if (info.Length() > 3 && !info[3].IsUndefined() && int_arg(info[3], "B", 1, INT_MAX_LL) != it->second->B)
      throw Napi::RangeError::New(info.Env(), "B: expected " + std::to_string(it->second->B) + " (the decoder's batch), got " + info[3].ToString().Utf8Value());
    const int32_t* ids = data_of<int32_t>(info[1], (size_t)it->second->B * n, "ids");
    check_ids(info.Env(), ids, (size_t)it->second->B * n, m.config.V);
    if (it->second->pos + n > m.config.P)
      throw Napi::RangeError::New(info.Env(), "n: decoding " + std::to_string(n) + " more positions after " + std::to_string(it->second->pos) +
                                                  " passes n_positions " + std::to_string(m.config.P));
    auto out = Napi::Float32Array::New(info.Env(), (size_t)it->second->B * m.config.V);
    m.decoder_next(it->second, ids, n, out.Data());
    return out;
  }

  Napi::Value DecoderFree(const Napi::CallbackInfo& info) {
    auto it = decoders_.find(info[0].As<Napi::Number>().Int32Value());
    if (it != decoders_.end()) {
      delete it->second;
      decoders_.erase(it);
    }
    return info.Env().Undefined();
  }

  // sample(prefixes [B·p], B, {maxLength, temperature, topK, repetitionPenalty, eosId}, rngState
  // Uint32Array(4), updated in place) → [ids, mask, tokenLogprobs, samplingLogprobs], each [B, T].
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    auto env = info.Env();
    auto& m = model(env);
    auto prefixes = typed_of<int32_t>(info[0], "prefixes");
    const int B = int_arg(info[1], "B", 1, INT_MAX_LL);
    if (!info[2].IsObject()) throw Napi::TypeError::New(env, "sampling: expected {maxLength, temperature, topK, repetitionPenalty, eosId}");
    auto o = info[2].As<Napi::Object>();
    rdlab::SamplingSettings s{int_arg(o.Get("maxLength"), "sampling.maxLength", 2, INT_MAX_LL), number_arg(o.Get("temperature"), "sampling.temperature"),
                              int_arg(o.Get("topK"), "sampling.topK", 0, INT_MAX_LL), number_arg(o.Get("repetitionPenalty"), "sampling.repetitionPenalty"),
                              int_arg(o.Get("eosId"), "sampling.eosId", -1, m.config.V - 1)};
    if (!(s.temperature >= 0)) throw Napi::RangeError::New(env, "sampling.temperature: expected ≥ 0, got " + std::to_string(s.temperature));
    if (!(s.penalty > 0)) throw Napi::RangeError::New(env, "sampling.repetitionPenalty: expected > 0, got " + std::to_string(s.penalty));
    uint32_t* state = const_cast<uint32_t*>(data_of<uint32_t>(info[3], 4, "rngState"));
    if (prefixes.ElementLength() == 0 || prefixes.ElementLength() % B != 0)
      throw Napi::RangeError::New(env, "prefixes: expected [B, p] with p ≥ 1, got " + std::to_string(prefixes.ElementLength()) + " ids for B = " + std::to_string(B));
    const int p = (int)(prefixes.ElementLength() / B);
    check_ids(env, prefixes.Data(), prefixes.ElementLength(), m.config.V);
    if (s.T <= p) throw Napi::RangeError::New(env, "sample: maxLength " + std::to_string(s.T) + " must exceed the prefix length " + std::to_string(p));
    if (s.T - 1 > m.config.P)
      throw Napi::RangeError::New(env, "sample: maxLength " + std::to_string(s.T) + " needs " + std::to_string(s.T - 1) + " positions, the model has " + std::to_string(m.config.P));
    const size_t n = (size_t)B * s.T;
    auto ids = Napi::Int32Array::New(env, n);
    auto mask = Napi::Float32Array::New(env, n), logprobs = Napi::Float32Array::New(env, n), sampling = Napi::Float32Array::New(env, n);
    m.sample(prefixes.Data(), B, p, s, state, ids.Data(), mask.Data(), logprobs.Data(), sampling.Data());
    auto out = Napi::Array::New(env, 4);
    out.Set((uint32_t)0, ids);
    out.Set((uint32_t)1, mask);
    out.Set((uint32_t)2, logprobs);
    out.Set((uint32_t)3, sampling);
    return out;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
};

// What the reward classifiers (the CNN, BERT) share: the model behind the handle, its
// parameters, gradients and Adam state, and the training step. `Self` adds its constructor,
// `Forward` and `classes(model)`; a model with `trainable == false` refuses training.
template <class Self, class Model>
class ClassifierWrap : public Napi::ObjectWrap<Self> {
 public:
  explicit ClassifierWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Self>(info) {}

  static Napi::Function Define(Napi::Env env, const char* name) {
    return Napi::ObjectWrap<Self>::DefineClass(
        env, name,
        {Self::InstanceMethod("forward", &Self::Forward), Self::InstanceMethod("backward", &Self::Backward),
         Self::InstanceMethod("adamStep", &Self::AdamStep), Self::InstanceMethod("getParams", &Self::GetParams),
         Self::InstanceMethod("setParams", &Self::SetParams), Self::InstanceMethod("getGrads", &Self::GetGrads),
         Self::InstanceMethod("getAdam", &Self::GetAdam), Self::InstanceMethod("setAdam", &Self::SetAdam),
         Self::InstanceMethod("dispose", &Self::Dispose), Self::InstanceMethod("numParams", &Self::NumParams)});
  }

  Napi::Value Backward(const Napi::CallbackInfo& info) {
    auto& m = trainable(info.Env());
    auto labels = info[0].As<Napi::Int32Array>();
    for (size_t i = 0; i < labels.ElementLength(); i++)
      if (labels[i] < 0 || labels[i] >= Self::classes(m)) throw Napi::RangeError::New(info.Env(), "label outside the classes");
    return Napi::Number::New(info.Env(), m.backward(labels.Data()));
  }

  Napi::Value AdamStep(const Napi::CallbackInfo& info) {
    auto& m = trainable(info.Env());
    return Napi::Number::New(info.Env(), m.adam_step(info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::Number>().DoubleValue(),
                                                     info[2].As<Napi::Number>().DoubleValue(), info[3].As<Napi::Number>().DoubleValue(),
                                                     info[4].As<Napi::Number>().DoubleValue(), info[5].As<Napi::Number>().Int32Value()));
  }

  Napi::Value GetParams(const Napi::CallbackInfo& info) { return copy_out(info.Env(), model(info.Env()).params.data(), model(info.Env()).num_params); }
  Napi::Value GetGrads(const Napi::CallbackInfo& info) { return copy_out(info.Env(), trainable(info.Env()).grads.data(), model(info.Env()).num_params); }
  Napi::Value NumParams(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), (double)model(info.Env()).num_params); }

  Napi::Value SetParams(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    std::memcpy(m.params.data(), data_of<float>(info[0], m.num_params, "parameters"), m.num_params * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value GetAdam(const Napi::CallbackInfo& info) {
    auto& m = trainable(info.Env());
    auto out = Napi::Array::New(info.Env(), 2);
    out.Set((uint32_t)0, copy_out(info.Env(), m.m.data(), m.num_params));
    out.Set((uint32_t)1, copy_out(info.Env(), m.v.data(), m.num_params));
    return out;
  }

  Napi::Value SetAdam(const Napi::CallbackInfo& info) {
    auto& m = trainable(info.Env());
    std::memcpy(m.m.data(), data_of<float>(info[0], m.num_params, "adam m"), m.num_params * sizeof(float));
    std::memcpy(m.v.data(), data_of<float>(info[1], m.num_params, "adam v"), m.num_params * sizeof(float));
    return info.Env().Undefined();
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    model_.reset();
    return info.Env().Undefined();
  }

 protected:
  std::unique_ptr<Model> model_;

  Model& model(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "the classifier was disposed");
    return *model_;
  }

  Model& trainable(Napi::Env env) {
    auto& m = model(env);
    if (!m.trainable) throw Napi::Error::New(env, "the classifier was loaded frozen (scoring only): it has no gradients or Adam state");
    return m;
  }
};

class CnnWrap : public ClassifierWrap<CnnWrap, Cnn> {
 public:
  static Napi::Function Define(Napi::Env env) { return ClassifierWrap::Define(env, "NativeCnn"); }
  static int classes(const Cnn& m) { return m.config.C; }

  explicit CnnWrap(const Napi::CallbackInfo& info) : ClassifierWrap(info) {
    auto c = info[0].As<Napi::Object>();
    rdlab::CnnConfig cfg;
    cfg.V = c.Get("vocabSize").As<Napi::Number>().Int32Value();
    cfg.E = c.Get("embedDim").As<Napi::Number>().Int32Value();
    cfg.F = c.Get("filters").As<Napi::Number>().Int32Value();
    cfg.C = c.Get("numClasses").As<Napi::Number>().Int32Value();
    auto ks = c.Get("kernelSizes").As<Napi::Array>();
    for (uint32_t i = 0; i < ks.Length(); i++) cfg.kernels.push_back(ks.Get(i).As<Napi::Number>().Int32Value());
    auto arr = info[1].As<Napi::Float32Array>();
    size_t expected = (size_t)cfg.V * cfg.E + cfg.kernels.size() * cfg.F * (cfg.C + 1) + cfg.C;
    for (int k : cfg.kernels) expected += (size_t)k * cfg.E * cfg.F;
    if (arr.ElementLength() != expected)
      throw Napi::RangeError::New(info.Env(), "parameters: expected " + std::to_string(expected) + " floats, got " + std::to_string(arr.ElementLength()));
    model_ = std::make_unique<Cnn>(cfg, arr.Data());
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    int B = info[2].As<Napi::Number>().Int32Value(), T = info[3].As<Napi::Number>().Int32Value();
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    const int32_t* lengths = data_of<int32_t>(info[1], (size_t)B, "lengths");
    check_ids(info.Env(), ids, (size_t)B * T, m.config.V);
    const float* dropout = info[4].IsTypedArray() ? data_of<float>(info[4], (size_t)B * m.config.F * m.config.kernels.size(), "dropout") : nullptr;
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * m.config.C);
    m.forward(ids, lengths, B, T, dropout, out.Data());
    return out;
  }
};

// The BERT reward model (bert.h): new NativeBert(config, params, trainable).
class BertWrap : public ClassifierWrap<BertWrap, rdlab::Bert> {
 public:
  static Napi::Function Define(Napi::Env env) { return ClassifierWrap::Define(env, "NativeBert"); }
  static int classes(const rdlab::Bert& m) { return m.config.K; }

  explicit BertWrap(const Napi::CallbackInfo& info) : ClassifierWrap(info) {
    auto c = info[0].As<Napi::Object>();
    auto num = [&](const char* key) { return c.Get(key).As<Napi::Number>().Int32Value(); };
    rdlab::BertConfig cfg{num("vocab_size"), num("max_position_embeddings"), num("type_vocab_size"), num("hidden_size"), num("num_hidden_layers"),
                          num("num_attention_heads"), num("intermediate_size"), num("num_labels"), c.Get("layer_norm_eps").As<Napi::Number>().FloatValue()};
    if (cfg.H <= 0 || cfg.C % cfg.H != 0) throw Napi::RangeError::New(info.Env(), "hidden_size must be a multiple of num_attention_heads");
    auto arr = info[1].As<Napi::Float32Array>();
    const size_t expected = rdlab::Bert::parameter_count(cfg);
    if (arr.ElementLength() != expected)
      throw Napi::RangeError::New(info.Env(), "parameters: expected " + std::to_string(expected) + " floats, got " + std::to_string(arr.ElementLength()));
    model_ = std::make_unique<rdlab::Bert>(cfg, arr.Data(), info[2].ToBoolean().Value());
  }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    auto& m = model(info.Env());
    int B = info[2].As<Napi::Number>().Int32Value(), T = info[3].As<Napi::Number>().Int32Value();
    if (T > m.config.P)
      throw Napi::RangeError::New(info.Env(), std::to_string(T) + " positions exceed max_position_embeddings " + std::to_string(m.config.P));
    const int32_t* ids = data_of<int32_t>(info[0], (size_t)B * T, "ids");
    const int32_t* lengths = data_of<int32_t>(info[1], (size_t)B, "lengths");
    check_ids(info.Env(), ids, (size_t)B * T, m.config.V);
    const float* dropout = info[4].IsTypedArray() ? data_of<float>(info[4], (size_t)B * m.config.C, "dropout") : nullptr;
    auto out = Napi::Float32Array::New(info.Env(), (size_t)B * m.config.K);
    m.forward(ids, lengths, B, T, dropout, out.Data());
    return out;
  }
};

// Square sgemm rate in GFLOP/s: the machine's matmul limit through this engine's BLAS.
Napi::Value SgemmGflops(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  double seconds = info[1].As<Napi::Number>().DoubleValue();
  std::vector<float> a((size_t)n * n, 0.5f), b((size_t)n * n, 0.25f), c((size_t)n * n);
  auto run = [&] { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n); };
  run();
  auto start = std::chrono::steady_clock::now();
  int runs = 0;
  double elapsed = 0;
  do {
    run();
    runs++;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return Napi::Number::New(info.Env(), 2.0 * n * n * n * runs / elapsed / 1e9);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  out.Set("blas", Napi::String::New(info.Env(), openblas_get_config()));
  out.Set("blasThreads", Napi::Number::New(info.Env(), openblas_get_num_threads()));
  out.Set("ompThreads", Napi::Number::New(info.Env(), omp_get_max_threads()));
  return out;
}

// Seconds per phase since the last call (RDLAB_NATIVE_PROFILE=1), then resets them.
Napi::Value Profile(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  auto& p = rdlab::profile();
  for (int i = 0; i < rdlab::P_COUNT; i++) {
    out.Set(rdlab::phase_name(i), Napi::Number::New(info.Env(), p.seconds[i]));
    p.seconds[i] = 0;
  }
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("profile", Napi::Function::New(env, Profile));
  exports.Set("NativeGpt2", Gpt2Wrap::Define(env));
  exports.Set("NativeCnn", CnnWrap::Define(env));
  exports.Set("NativeBert", BertWrap::Define(env));
  exports.Set("sgemmGflops", Napi::Function::New(env, SgemmGflops));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(rdlab_native, Init)
