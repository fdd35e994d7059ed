// Shared pieces of the CUDA engine: error checks that become C++ exceptions (the addon turns them
// into JavaScript errors), the activation types, warp and block reductions, and device buffers.
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cfloat>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace rdlab_cuda {

inline void check_cuda(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA: ") + cudaGetErrorString(e) + " in " + what + " (" + file + ":" + std::to_string(line) + ")");
}

inline void check_cublas(cublasStatus_t s, const char* what, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS: ") + cublasGetStatusString(s) + " in " + what + " (" + file + ":" + std::to_string(line) + ")");
}

#define CUDA_CHECK(x) ::rdlab_cuda::check_cuda((x), #x, __FILE__, __LINE__)
#define CUBLAS_CHECK(x) ::rdlab_cuda::check_cublas((x), #x, __FILE__, __LINE__)
// After each launch: a bad configuration is reported where it happened, not at the next sync.
#define LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())

inline int ceil_div(size_t a, size_t b) { return (int)((a + b - 1) / b); }

// ---- activation types: float or bfloat16, read and written through float ----

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}

template <typename T>
constexpr cudaDataType_t cuda_type();
template <>
constexpr cudaDataType_t cuda_type<float>() {
  return CUDA_R_32F;
}
template <>
constexpr cudaDataType_t cuda_type<__nv_bfloat16>() {
  return CUDA_R_16BF;
}

// ---- reductions ----

__device__ __forceinline__ float warp_sum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}
__device__ __forceinline__ double warp_sum(double x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}
__device__ __forceinline__ float warp_max(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Block-wide sum / max for blocks of whole warps (≤ 1024 threads); every thread gets the result.
// `scratch` holds 32 values; the call synchronises the block twice.
template <typename V>
__device__ V block_sum(V x, V* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_sum(x);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  V total = 0;
  for (int w = 0; w < warps; w++) total += scratch[w];  // same order in every thread
  return total;
}

__device__ inline float block_max(float x, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  x = warp_max(x);
  __syncthreads();
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  float m = -FLT_MAX;
  for (int w = 0; w < warps; w++) m = fmaxf(m, scratch[w]);
  return m;
}

// ---- device memory ----

// A device allocation that grows on demand and frees itself.
template <typename V>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { release(); }

  // At least n elements; the contents are lost when it grows.
  V* reserve(size_t n) {
    if (n > capacity_) {
      release();
      if (n > 0) CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(V)));
      capacity_ = n;
    }
    return ptr_;
  }
  V* get() const { return ptr_; }
  void swap(DeviceArray& other) {
    std::swap(ptr_, other.ptr_);
    std::swap(capacity_, other.capacity_);
  }
  size_t capacity() const { return capacity_; }
  void release() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
  }

 private:
  V* ptr_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace rdlab_cuda
