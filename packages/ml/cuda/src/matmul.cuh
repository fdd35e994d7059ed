// The GEMMs of GPT-2 through cuBLAS, in row-major terms. cuBLAS is column-major: a row-major
// [R, K] matrix is a column-major [K, R] one with leading dimension K, so each product below is
// written as its transpose. GPT-2's weights are stored [in, out] (Conv1D); OPT's and XGLM's
// [out, in] (torch Linear, the `linear_*_oi` products); wte [Vp, C] (the padded vocabulary).
//
// Inputs are the activation type T_ (float or bfloat16); weight gradients are always accumulated
// in float (beta = 1 over zeroed buffers); compute is fp32, or TF32 tensor cores when asked.
#pragma once
#include "common.cuh"

namespace rdlab_cuda {

// The process's one cuBLAS handle, on the default stream (gpt2.cu; BERT shares it).
cublasHandle_t blas_handle();

struct Blas {
  cublasHandle_t handle = nullptr;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
};

// C = alpha · op(A) · op(B) + beta · C, all column-major.
inline void gemm(const Blas& blas, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const void* A, cudaDataType_t at,
                 int lda, const void* B, cudaDataType_t bt, int ldb, float beta, void* C, cudaDataType_t ct, int ldc) {
  CUBLAS_CHECK(cublasGemmEx(blas.handle, ta, tb, m, n, k, &alpha, A, at, lda, B, bt, ldb, &beta, C, ct, ldc, blas.compute, CUBLAS_GEMM_DEFAULT));
}

inline void gemm_batched(const Blas& blas, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const void* A,
                         cudaDataType_t type, int lda, long long sa, const void* B, int ldb, long long sb, float beta, void* C, int ldc, long long sc,
                         int batch) {
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(blas.handle, ta, tb, m, n, k, &alpha, A, type, lda, sa, B, type, ldb, sb, &beta, C, type, ldc, sc, batch,
                                          blas.compute, CUBLAS_GEMM_DEFAULT));
}

// out[N, O] = inp[N, I] · W[I, O]  (the bias is added by the kernel that reads `out` next).
template <typename T_>
void linear_forward(const Blas& blas, T_* out, const T_* inp, const T_* W, int N, int I, int O) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, O, N, I, 1.0f, W, cuda_type<T_>(), O, inp, cuda_type<T_>(), I, 0.0f, out, cuda_type<T_>(), O);
}

// dinp[N, I] = dout[N, O] · Wᵀ.
template <typename T_>
void linear_backward_input(const Blas& blas, T_* dinp, const T_* dout, const T_* W, int N, int I, int O) {
  gemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, I, N, O, 1.0f, W, cuda_type<T_>(), O, dout, cuda_type<T_>(), O, 0.0f, dinp, cuda_type<T_>(), I);
}

// dW[I, O] += inpᵀ · dout (float).
template <typename T_>
void linear_backward_weight(const Blas& blas, float* dW, const T_* inp, const T_* dout, int N, int I, int O) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, O, I, N, 1.0f, dout, cuda_type<T_>(), O, inp, cuda_type<T_>(), I, 1.0f, dW, CUDA_R_32F, O);
}

// torch Linear, W [O, I] (OPT, XGLM). `ldo` is out's / dout's row stride: 3C when q, k and v
// are columns of one [N, 3C] buffer, O otherwise.
// out[N, O] = inp[N, I] · Wᵀ.
template <typename T_>
void linear_forward_oi(const Blas& blas, T_* out, int ldo, const T_* inp, const T_* W, int N, int I, int O) {
  gemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, O, N, I, 1.0f, W, cuda_type<T_>(), I, inp, cuda_type<T_>(), I, 0.0f, out, cuda_type<T_>(), ldo);
}

// dinp[N, I] (+)= dout[N, O] · W (beta 1 adds: k's and v's shares of dln onto q's).
template <typename T_>
void linear_backward_input_oi(const Blas& blas, T_* dinp, const T_* dout, int ldo, const T_* W, int N, int I, int O, float beta) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, I, N, O, 1.0f, W, cuda_type<T_>(), I, dout, cuda_type<T_>(), ldo, beta, dinp, cuda_type<T_>(), I);
}

// dW[O, I] += doutᵀ · inp (float).
template <typename T_>
void linear_backward_weight_oi(const Blas& blas, float* dW, const T_* inp, const T_* dout, int ldo, int N, int I, int O) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, I, O, N, 1.0f, inp, cuda_type<T_>(), I, dout, cuda_type<T_>(), ldo, 1.0f, dW, CUDA_R_32F, I);
}

// The head over the padded vocabulary: callers pass V = Vp (a multiple of 64, llm.c's padding),
// so the logits' leading dimension suits cuBLAS's fast kernels; wte's padded rows are zero.
// logits[M, V] = h[M, C] · wteᵀ (float output: the loss and the sampler read it).
template <typename T_>
void head_forward(const Blas& blas, float* logits, const T_* h, const T_* wte, int M, int C, int V) {
  gemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, V, M, C, 1.0f, wte, cuda_type<T_>(), C, h, cuda_type<T_>(), C, 0.0f, logits, CUDA_R_32F, V);
}

// dh[M, C] = dlogits[M, V] · wte.
template <typename T_>
void head_backward_input(const Blas& blas, T_* dh, const T_* dlogits, const T_* wte, int M, int C, int V) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, C, M, V, 1.0f, wte, cuda_type<T_>(), C, dlogits, cuda_type<T_>(), V, 0.0f, dh, cuda_type<T_>(), C);
}

// dwte[V, C] += dlogitsᵀ · h.
template <typename T_>
void head_backward_weight(const Blas& blas, float* dwte, const T_* h, const T_* dlogits, int M, int C, int V) {
  gemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, C, V, M, 1.0f, h, cuda_type<T_>(), C, dlogits, cuda_type<T_>(), V, 1.0f, dwte, CUDA_R_32F, C);
}

// Attention, batched over the B·H matrices of [T, D] (q, k, v) and [T, T] (scores):

// pre[t1, t2] = alpha · Σ_d q[t1, d] k[t2, d].
template <typename T_>
void attention_scores(const Blas& blas, T_* pre, const T_* q, const T_* k, int batch, int T, int D, float alpha) {
  gemm_batched(blas, CUBLAS_OP_T, CUBLAS_OP_N, T, T, D, alpha, k, cuda_type<T_>(), D, (long long)T * D, q, D, (long long)T * D, 0.0f, pre, T,
               (long long)T * T, batch);
}

// y[t1, d] = Σ_t2 att[t1, t2] v[t2, d].
template <typename T_>
void attention_values(const Blas& blas, T_* y, const T_* att, const T_* v, int batch, int T, int D) {
  gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_N, D, T, T, 1.0f, v, cuda_type<T_>(), D, (long long)T * D, att, T, (long long)T * T, 0.0f, y, D,
               (long long)T * D, batch);
}

// dv[t2, d] = Σ_t1 att[t1, t2] dy[t1, d].
template <typename T_>
void attention_values_backward_v(const Blas& blas, T_* dv, const T_* att, const T_* dy, int batch, int T, int D) {
  gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_T, D, T, T, 1.0f, dy, cuda_type<T_>(), D, (long long)T * D, att, T, (long long)T * T, 0.0f, dv, D,
               (long long)T * D, batch);
}

// dq[t1, d] = alpha · Σ_t2 dpre[t1, t2] k[t2, d].
template <typename T_>
void attention_scores_backward_q(const Blas& blas, T_* dq, const T_* dpre, const T_* k, int batch, int T, int D, float alpha) {
  gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_N, D, T, T, alpha, k, cuda_type<T_>(), D, (long long)T * D, dpre, T, (long long)T * T, 0.0f, dq, D,
               (long long)T * D, batch);
}

// dk[t2, d] = alpha · Σ_t1 dpre[t1, t2] q[t1, d].
template <typename T_>
void attention_scores_backward_k(const Blas& blas, T_* dk, const T_* dpre, const T_* q, int batch, int T, int D, float alpha) {
  gemm_batched(blas, CUBLAS_OP_N, CUBLAS_OP_T, D, T, T, alpha, q, cuda_type<T_>(), D, (long long)T * D, dpre, T, (long long)T * T, 0.0f, dk, D,
               (long long)T * D, batch);
}

}  // namespace rdlab_cuda
