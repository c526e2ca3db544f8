#pragma once

// The reference GEMM behind cuBLAS and cuBLASLt on the emulated device (gemm.cpp): D = alpha
// op(A) op(B) + beta C (+ a bias per row), float32, column-major; with TF32 the elements of A
// and B are first rounded to TF32 (10-bit mantissas, to nearest, ties away from zero, as the
// tensor cores' conversion does), the products and sums staying float32.

#include <cstdint>

#include "cublas_v2.h"
#include "internal.hpp"

namespace myelin::emu::detail {

struct Gemm {
  const char* routine;
  bool ta, tb;
  std::int64_t m, n, k;
  float alpha, beta;
  const float* a;
  std::int64_t lda;
  const float* b;
  std::int64_t ldb;
  const float* c;  // may equal d
  std::int64_t ldc;
  float* d;
  std::int64_t ldd;
  const float* bias;  // m values, or null
  bool tf32;
};

// `x` rounded to TF32: the top 10 bits of the mantissa, to nearest, ties away from zero.
float round_to_tf32(float x);

// Queues a GEMM on `stream` (of `device`, which must be current, as for a kernel launch).
cublasStatus_t queue_gemm(const Gemm& g, int device, cudaStream_t stream);

// cublasCreate and cublasLtCreate: a library context bound to the current device.
template <typename Context>
cublasStatus_t create_context(Context** handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  ApiLock lock;
  auto* h = new Context;
  h->device = current_device();
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasDestroy and cublasLtDestroy.
template <typename Context>
cublasStatus_t destroy_context(Context* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace myelin::emu::detail
