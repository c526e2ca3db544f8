#include "backends/cpu/blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <string>

#include "backends/cpu/parallel.hpp"
#include "myelin/error.hpp"

namespace myelin::cpu {

namespace {

blasint to_blas_int(std::int64_t v, const char* what) {
  if (v < 0 || v > static_cast<std::int64_t>(INT_MAX)) {
    fail("GEMM dimension ", what, " = ", v, " does not fit the BLAS integer type");
  }
  return static_cast<blasint>(v);
}

// Rows or columns of C per tile. A function of the shape only, never of the thread count.
constexpr std::int64_t kGemmTile = 64;

// Runs OpenBLAS on one thread for the current task and restores the team size after.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadedBlas() { omp_set_num_threads(saved_); }
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_;
};

void blas_call(bool ta, bool tb, blasint m, blasint n, blasint k, float alpha, const float* a,
               blasint lda, const float* b, blasint ldb, float beta, float* c, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void blas_call(bool ta, bool tb, blasint m, blasint n, blasint k, double alpha, const double* a,
               blasint lda, const double* b, blasint ldb, double beta, double* c, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
              k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

// OpenBLAS's own threading may split the k (summation) dimension in a way that depends on the
// thread count, so 1 and 2 threads give different bits. Instead C is cut into fixed tiles along
// its larger dimension; each tile is one single-threaded GEMM over the whole k, and the tiles
// are spread over our OpenMP team. Every element is then summed in the same order whatever the
// number of threads.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j)
        c[i * ldc + j] = beta == T(0) ? T(0) : beta * c[i * ldc + j];
    }
    return;
  }
  const blasint bk = to_blas_int(k, "k"), blda = to_blas_int(lda, "lda"),
                bldb = to_blas_int(ldb, "ldb"), bldc = to_blas_int(ldc, "ldc");
  to_blas_int(m, "m");
  to_blas_int(n, "n");
  const bool split_rows = m >= n;
  const std::int64_t extent = split_rows ? m : n;
  const std::int64_t tiles = (extent + kGemmTile - 1) / kGemmTile;
  parallel_for(tiles, 1, [&](std::int64_t t0, std::int64_t t1) {
    SingleThreadedBlas single;
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t begin = t * kGemmTile;
      const auto size = static_cast<blasint>(std::min(kGemmTile, extent - begin));
      if (split_rows) {  // rows [begin, begin + size) of op(A) and C
        const T* a_tile = trans_a ? a + begin : a + begin * lda;
        blas_call(trans_a, trans_b, size, static_cast<blasint>(n), bk, alpha, a_tile, blda, b, bldb,
                  beta, c + begin * ldc, bldc);
      } else {  // columns [begin, begin + size) of op(B) and C
        const T* b_tile = trans_b ? b + begin * ldb : b + begin;
        blas_call(trans_a, trans_b, static_cast<blasint>(m), size, bk, alpha, a, blda, b_tile, bldb,
                  beta, c + begin, bldc);
      }
    }
  });
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                          std::int64_t, const float*, std::int64_t, float, float*, std::int64_t);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                           const double*, std::int64_t, const double*, std::int64_t, double,
                           double*, std::int64_t);

const char* blas_description() {
  static const std::string text = [] {
    std::string out = "OpenBLAS";
    const char* config = openblas_get_config();
    if (config != nullptr) out += std::string(" (") + config + ")";
    switch (openblas_get_parallel()) {
      case 0:
        out += ", sequential";
        break;
      case 1:
        out += ", pthreads";
        break;
      case 2:
        out += ", OpenMP";
        break;
      default:
        break;
    }
    return out;
  }();
  return text.c_str();
}

}  // namespace myelin::cpu
