#pragma once

#include <cstdint>

namespace myelin::cpu {

// Row-major C = alpha * op(A) * op(B) + beta * C through OpenBLAS; op(X) is X or its transpose.
// op(A) is m x k, op(B) is k x n, C is m x n.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc);

// "OpenBLAS 0.3.21 (OpenMP)" and the like.
const char* blas_description();

}  // namespace myelin::cpu
