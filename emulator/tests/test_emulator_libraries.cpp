// The emulated device's tests of its library subsets: cuBLAS GEMMs against a reference, an
// operand read past its allocation, cuBLASLt's bias epilogue, and Thrust's count_if.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <thrust/count.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>

#include <cmath>
#include <cstdint>
#include <new>
#include <numeric>
#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

// ---- cuBLAS / cuBLASLt / Thrust -------------------------------------------------------------

// Column-major reference in double.
std::vector<float> reference_gemm(bool ta, bool tb, int m, int n, int k, float alpha,
                                  const std::vector<float>& a, int lda, const std::vector<float>& b,
                                  int ldb, float beta, const std::vector<float>& c, int ldc,
                                  const std::vector<float>* bias) {
  std::vector<float> out = c;
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[static_cast<std::size_t>(p + i * lda)]
                             : a[static_cast<std::size_t>(i + p * lda)];
        const double bv = tb ? b[static_cast<std::size_t>(j + p * ldb)]
                             : b[static_cast<std::size_t>(p + j * ldb)];
        s += av * bv;
      }
      double v = alpha * s + beta * c[static_cast<std::size_t>(i + j * ldc)];
      if (bias != nullptr) v += (*bias)[static_cast<std::size_t>(i)];
      out[static_cast<std::size_t>(i + j * ldc)] = static_cast<float>(v);
    }
  }
  return out;
}

std::vector<float> values(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 37 + 11) % 23) - 5.0f;
  return v;
}

TEST(EmulatedCublas, GemmExMatchesAReferenceForEveryTransposeAndLeadingDimension) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const int m = 13, n = 7, k = 21;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      const int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
      const std::vector<float> a = values(static_cast<std::size_t>(lda * (ta ? m : k)), 0.5f);
      const std::vector<float> b = values(static_cast<std::size_t>(ldb * (tb ? k : n)), 0.25f);
      const std::vector<float> c = values(static_cast<std::size_t>(ldc * n), 1.0f);
      float* da = upload(a);
      float* db = upload(b);
      float* dc = upload(c);
      const float alpha = 1.5f, beta = -0.5f;
      ASSERT_EQ(cublasGemmEx(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m,
                             n, k, &alpha, da, CUDA_R_32F, lda, db, CUDA_R_32F, ldb, &beta, dc,
                             CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_SUCCESS);
      const std::vector<float> got = download(dc, c.size());
      const std::vector<float> want =
          reference_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr);
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << ta << tb << " " << i;
      }
      for (float* p : {da, db, dc}) cudaFreeAsync(p, nullptr);
    }
  }
  const float one = 1.0f;
  EXPECT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 1, 1, &one, nullptr, CUDA_R_32F, 3,
                         nullptr, CUDA_R_32F, 1, &one, nullptr, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  ASSERT_EQ(cublasDestroy(h), CUBLAS_STATUS_SUCCESS);
}

// 1 x 1 x 4 products of a = {1 + 2^-11, 1 + 2^-12, 3 + 2^-9, -(1 + 2^-11)} and b = 1: TF32 keeps
// 10 mantissa bits, rounding to nearest with ties away from zero, so a becomes
// {1 + 2^-10, 1, 3 + 2^-9, -(1 + 2^-10)}, while float32 keeps every bit.
std::vector<float> tf32_probe(cublasHandle_t h, cublasComputeType_t compute) {
  const std::vector<float> a{1.0f + 0x1p-11f, 1.0f + 0x1p-12f, 3.0f + 0x1p-9f, -(1.0f + 0x1p-11f)};
  const std::vector<float> b{1.0f};
  float* da = upload(a);
  float* db = upload(b);
  float* dc = device_alloc<float>(4);
  const float one = 1.0f, zero = 0.0f;
  EXPECT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 1, 1, &one, da, CUDA_R_32F, 4, db,
                         CUDA_R_32F, 1, &zero, dc, CUDA_R_32F, 4, compute, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_SUCCESS);
  std::vector<float> c = download(dc, 4);
  for (float* p : {da, db, dc}) cudaFreeAsync(p, nullptr);
  return c;
}

TEST(EmulatedCublas, Tf32RoundsTheInputsToTenMantissaBits) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const std::vector<float> exact{1.0f + 0x1p-11f, 1.0f + 0x1p-12f, 3.0f + 0x1p-9f,
                                 -(1.0f + 0x1p-11f)};
  const std::vector<float> tf32{1.0f + 0x1p-10f, 1.0f, 3.0f + 0x1p-9f, -(1.0f + 0x1p-10f)};
  EXPECT_EQ(tf32_probe(h, CUBLAS_COMPUTE_32F), exact);
  EXPECT_EQ(tf32_probe(h, CUBLAS_COMPUTE_32F_FAST_TF32), tf32);
  // The math mode allows TF32 for float32 compute, but not for the pedantic one.
  ASSERT_EQ(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(tf32_probe(h, CUBLAS_COMPUTE_32F), tf32);
  EXPECT_EQ(tf32_probe(h, CUBLAS_COMPUTE_32F_PEDANTIC), exact);
  cublasMath_t mode = CUBLAS_DEFAULT_MATH;
  ASSERT_EQ(cublasGetMathMode(h, &mode), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(mode, CUBLAS_TF32_TENSOR_OP_MATH);
  ASSERT_EQ(cublasDestroy(h), CUBLAS_STATUS_SUCCESS);
}

TEST(EmulatedCublas, AGemmReadingPastAnOperandIsAFault) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  float* a = upload(values(8, 1.0f));  // 8 floats, used as a 4 x 4 matrix
  float* c = device_alloc<float>(16);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, CUDA_R_32F, 4, a, CUDA_R_32F, 4,
                   &zero, c, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_NE(emu::last_fault().find("operand A"), std::string::npos) << emu::last_fault();
  cudaGetLastError();
  cudaFreeAsync(a, nullptr);
  cudaFreeAsync(c, nullptr);
  cublasDestroy(h);
}

// In stream order, a GEMM queued before the free of its operand still reads it, even when the
// stream allocates the same memory again, smaller, before the GEMM runs.
TEST(EmulatedCublas, AGemmQueuedBeforeItsOperandIsFreedInStreamOrderRuns) {
  ProgressScope lazy(emu::Progress::kLazy);  // nothing runs before the synchronisation
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  float* a = upload(values(64, 1.0f));
  float* c = device_alloc<float>(64);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 8, 8, &one, a, CUDA_R_32F, 8, a, CUDA_R_32F, 8,
                   &zero, c, CUDA_R_32F, 8, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cudaFreeAsync(a, nullptr), cudaSuccess);
  float* again = device_alloc<float>(4);  // the pool hands the freed block to the same stream
  EXPECT_EQ(again, a);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess) << emu::last_fault();
  cudaFreeAsync(again, nullptr);
  cudaFreeAsync(c, nullptr);
  cublasDestroy(h);
}

TEST(EmulatedCublas, LtMatmulWithTheBiasEpilogue) {
  cublasLtHandle_t lt = nullptr;
  ASSERT_EQ(cublasLtCreate(&lt), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulDesc_t desc = nullptr;
  EXPECT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_16F, CUDA_R_32F),
            CUBLAS_STATUS_NOT_SUPPORTED);
  ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
  // y^T (out x rows) = W (in x out, transposed) x^T (in x rows) + bias, as the linear op uses it.
  const int in = 9, out = 5, rows = 6;
  const cublasOperation_t t = CUBLAS_OP_T, nt = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nt, sizeof nt),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                           sizeof epilogue),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> w = values(static_cast<std::size_t>(in * out), 0.5f);
  const std::vector<float> x = values(static_cast<std::size_t>(in * rows), 0.25f);
  const std::vector<float> bias = values(static_cast<std::size_t>(out), 2.0f);
  float* dw = upload(w);
  float* dx = upload(x);
  float* db = upload(bias);
  float* dy = device_alloc<float>(static_cast<std::size_t>(out * rows));
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &db, sizeof db),
            CUBLAS_STATUS_SUCCESS);
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, in, out, in), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, in, rows, in), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, out, rows, out), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulPreference_t pref = nullptr;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &result, &found),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(found, 1);
  const float alpha = 1.0f, beta = 0.0f;
  ASSERT_EQ(cublasLtMatmul(lt, desc, &alpha, dw, la, dx, lb, &beta, dy, lc, dy, lc, &result.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> got = download(dy, static_cast<std::size_t>(out * rows));
  const std::vector<float> want =
      reference_gemm(true, false, out, rows, in, alpha, w, in, x, in, 0.0f,
                     std::vector<float>(static_cast<std::size_t>(out * rows), 0.0f), out, &bias);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  cublasLtMatmulPreferenceDestroy(pref);
  for (auto* l : {la, lb, lc}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(lt);
  for (float* p : {dw, dx, db, dy}) cudaFreeAsync(p, nullptr);
}

struct IsOdd {
  const int* values;
  __device__ bool operator()(std::int64_t i) const { return values[i] % 2 != 0; }
};

TEST(EmulatedThrust, CountIfOnAStream) {
  std::vector<int> v(10000);
  std::iota(v.begin(), v.end(), 0);
  int* d = upload(v);
  const thrust::counting_iterator<std::int64_t> first(0);
  EXPECT_EQ(thrust::count_if(thrust::cuda::par.on(nullptr), first, first + 10000, IsOdd{d}), 5000);
  // Out of memory for its temporary storage (after the pool gave back what it held).
  CUDA_OK(cudaDeviceSynchronize());
  emu::set_memory_limit(0, 1);
  EXPECT_THROW(thrust::count_if(thrust::cuda::par.on(nullptr), first, first + 10000, IsOdd{d}),
               std::bad_alloc);
  emu::set_memory_limit(0, 0);
  cudaGetLastError();
  cudaFreeAsync(d, nullptr);
}

}  // namespace
}  // namespace myelin::emu_test
