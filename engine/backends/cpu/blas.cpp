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

// Halves the larger side of the tile until there are enough tiles for a team of threads or the
// tiles would become too small. Each tile is a separate OpenBLAS call that packs its own panels
// of A and B, so the packing work grows with the number of tiles: on the MLP benchmark's layers
// (bench_cpu_ops mlp_training_step, 2 threads) 4 tiles per GEMM run about 8% faster per training
// step than 8 tiles; packing is still about 15% of a batch-1024 step, against about 6% in one
// whole call. The price of a tiling fixed by the shape is parallelism: a GEMM of up to
// kLargeGemmMacs multiply-adds (a batch-1024 layer of 784 x 512 is 0.4 of that) runs on at most
// kBaseGemmTiles threads.
GemmTiling gemm_tiling(std::int64_t m, std::int64_t n, std::int64_t k) {
  GemmTiling t{m, n, 1, 1};
  const auto halve = [](std::int64_t v) { return ((v + 1) / 2 + 15) / 16 * 16; };
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  std::int64_t max_tiles = kBaseGemmTiles;
  for (double large = 2.0 * static_cast<double>(kLargeGemmMacs);
       large <= macs && max_tiles < kMaxGemmTiles; large *= 2.0) {
    max_tiles *= 2;
  }
  while (t.tiles_m * t.tiles_n < max_tiles) {
    const bool cut_m = t.tile_m >= t.tile_n;
    const std::int64_t side = cut_m ? t.tile_m : t.tile_n;
    if (side < 2 * kMinGemmTileDim) break;
    const std::int64_t half = halve(side);
    const std::int64_t tiles_m = cut_m ? (m + half - 1) / half : t.tiles_m;
    const std::int64_t tiles_n = cut_m ? t.tiles_n : (n + half - 1) / half;
    if (macs / static_cast<double>(tiles_m * tiles_n) < static_cast<double>(kMinGemmTileMacs)) {
      break;
    }
    (cut_m ? t.tile_m : t.tile_n) = half;
    t.tiles_m = tiles_m;
    t.tiles_n = tiles_n;
  }
  return t;
}

// OpenBLAS's own threading of one call gives different bits on 1 and 2 threads (a whole call
// fails tests/test_cpu_gemm.cpp). Instead C is cut into tiles fixed by the shape (gemm_tiling);
// each tile is one single-threaded GEMM over the whole k, and the tiles are spread over our
// OpenMP team. Every element is then summed in the same order whatever the number of threads.
// The bias is added to each tile right after its product, while it is in cache.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc, const T* row_bias) {
  if (m == 0 || n == 0) return;
  const GemmTiling tiling = gemm_tiling(m, n, k);
  const blasint bk = to_blas_int(k, "k"), blda = to_blas_int(lda, "lda"),
                bldb = to_blas_int(ldb, "ldb"), bldc = to_blas_int(ldc, "ldc");
  to_blas_int(m, "m");
  to_blas_int(n, "n");
  parallel_for(tiling.tiles_m * tiling.tiles_n, 1, [&](std::int64_t t0, std::int64_t t1) {
    SingleThreadedBlas single;
    for (std::int64_t t = t0; t < t1; ++t) {
      const std::int64_t row = (t / tiling.tiles_n) * tiling.tile_m;
      const std::int64_t col = (t % tiling.tiles_n) * tiling.tile_n;
      const std::int64_t rows = std::min(tiling.tile_m, m - row);
      const std::int64_t cols = std::min(tiling.tile_n, n - col);
      T* c_tile = c + row * ldc + col;
      if (k == 0) {
        for (std::int64_t i = 0; i < rows; ++i) {
          for (std::int64_t j = 0; j < cols; ++j) {
            c_tile[i * ldc + j] = beta == T(0) ? T(0) : beta * c_tile[i * ldc + j];
          }
        }
      } else {
        const T* a_tile = trans_a ? a + row : a + row * lda;  // rows [row, row + rows) of op(A)
        const T* b_tile = trans_b ? b + col * ldb : b + col;  // columns [col, col + cols) of op(B)
        blas_call(trans_a, trans_b, static_cast<blasint>(rows), static_cast<blasint>(cols), bk,
                  alpha, a_tile, blda, b_tile, bldb, beta, c_tile, bldc);
      }
      if (row_bias != nullptr) {
        for (std::int64_t i = 0; i < rows; ++i) {
          T* c_row = c_tile + i * ldc;
          for (std::int64_t j = 0; j < cols; ++j) c_row[j] += row_bias[col + j];
        }
      }
    }
  });
}

template void gemm<float>(bool, bool, std::int64_t, std::int64_t, std::int64_t, float, const float*,
                          std::int64_t, const float*, std::int64_t, float, float*, std::int64_t,
                          const float*);
template void gemm<double>(bool, bool, std::int64_t, std::int64_t, std::int64_t, double,
                           const double*, std::int64_t, const double*, std::int64_t, double,
                           double*, std::int64_t, const double*);

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
