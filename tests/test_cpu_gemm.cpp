// The CPU GEMM: its tiling is a function of the shape only, and its results are the same bits for
// any number of threads and agree with a double-precision reference.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backends/cpu/blas.hpp"
#include "myelin/random.hpp"

namespace myelin {
namespace {

struct GemmCase {
  bool trans_a, trans_b;
  std::int64_t m, n, k;
};

std::vector<float> random_floats(std::int64_t count, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(static_cast<std::size_t>(count));
  for (float& x : v) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  return v;
}

// C = op(A) op(B) + bias on `threads` threads; C starts as a copy of c0 (beta = 0.5).
std::vector<float> run_gemm(const GemmCase& g, const std::vector<float>& a,
                            const std::vector<float>& b, const std::vector<float>& c0,
                            const std::vector<float>& bias, int threads) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(threads);
  std::vector<float> c = c0;
  const std::int64_t lda = g.trans_a ? g.m : g.k, ldb = g.trans_b ? g.k : g.n;
  cpu::gemm<float>(g.trans_a, g.trans_b, g.m, g.n, g.k, 1.0f, a.data(), lda, b.data(), ldb, 0.5f,
                   c.data(), g.n, bias.data());
  omp_set_num_threads(saved);
  return c;
}

TEST(CpuGemm, TilingCoversTheMatrixAndDependsOnTheShapeOnly) {
  // The largest layer of the Fashion-MNIST MLP at batch 1024: 4 tiles of 256 x 512.
  const cpu::GemmTiling mlp = cpu::gemm_tiling(1024, 512, 784);
  EXPECT_EQ(mlp.tile_m, 256);
  EXPECT_EQ(mlp.tile_n, 512);
  EXPECT_EQ(mlp.tiles_m * mlp.tiles_n, cpu::kBaseGemmTiles);
  // Larger GEMMs get more tiles: 4096^3 is 64 kLargeGemmMacs, 256 tiles of work, capped.
  const cpu::GemmTiling big = cpu::gemm_tiling(4096, 4096, 4096);
  EXPECT_EQ(big.tiles_m * big.tiles_n, cpu::kMaxGemmTiles);
  EXPECT_EQ(cpu::gemm_tiling(2048, 2048, 512).tiles_m * cpu::gemm_tiling(2048, 2048, 512).tiles_n,
            2 * cpu::kBaseGemmTiles);  // 2 kLargeGemmMacs
  // Too little work to be worth a second thread: one tile.
  const cpu::GemmTiling small = cpu::gemm_tiling(32, 64, 10);
  EXPECT_EQ(small.tiles_m * small.tiles_n, 1);
  for (const GemmCase& g :
       {GemmCase{false, false, 1000, 333, 17}, GemmCase{false, false, 7, 5000, 900},
        GemmCase{false, false, 128, 256, 512}, GemmCase{false, false, 1, 1, 1}}) {
    const cpu::GemmTiling t = cpu::gemm_tiling(g.m, g.n, g.k);
    EXPECT_LE(t.tiles_m * t.tiles_n, cpu::kBaseGemmTiles);
    EXPECT_GE(t.tile_m * t.tiles_m, g.m);  // the tiles cover C ...
    EXPECT_GE(t.tile_n * t.tiles_n, g.n);
    EXPECT_LT(t.tile_m * (t.tiles_m - 1), g.m);  // ... and none is empty
    EXPECT_LT(t.tile_n * (t.tiles_n - 1), g.n);
  }
}

TEST(CpuGemm, SameBitsForAnyThreadCountAndCloseToDouble) {
  const std::vector<GemmCase> cases = {
      {false, true, 1024, 512, 784},   // linear forward
      {true, false, 512, 784, 1024},   // weight gradient
      {false, false, 1024, 256, 512},  // input gradient
      {true, true, 300, 130, 77},      // ragged tiles in both directions
      {false, false, 100, 3, 0},       // k = 0: C = beta C + bias
  };
  for (const GemmCase& g : cases) {
    SCOPED_TRACE(testing::Message()
                 << g.m << "x" << g.n << "x" << g.k << " ta=" << g.trans_a << " tb=" << g.trans_b);
    const std::vector<float> a = random_floats(g.m * g.k, 1), b = random_floats(g.k * g.n, 2),
                             c0 = random_floats(g.m * g.n, 3), bias = random_floats(g.n, 4);
    const std::vector<float> one = run_gemm(g, a, b, c0, bias, 1);
    for (int threads : {2, 3, 5}) {
      const std::vector<float> other = run_gemm(g, a, b, c0, bias, threads);
      ASSERT_EQ(0, std::memcmp(one.data(), other.data(), one.size() * sizeof(float)))
          << threads << " threads";
    }
    // Against a double-precision sum, on every 7th row (and the last) to keep the test fast.
    // The bound is the worst case of float rounding over the k + 2 terms (u = 2^-24).
    for (std::int64_t i = 0; i < g.m; i = (i + 7 < g.m || i == g.m - 1) ? i + 7 : g.m - 1) {
      for (std::int64_t j = 0; j < g.n; ++j) {
        double sum = 0.0, magnitude = 0.0;
        for (std::int64_t p = 0; p < g.k; ++p) {
          const double x = g.trans_a ? a[p * g.m + i] : a[i * g.k + p];
          const double y = g.trans_b ? b[j * g.k + p] : b[p * g.n + j];
          sum += x * y;
          magnitude += std::abs(x * y);
        }
        const double c_term = 0.5 * c0[i * g.n + j];
        const double want = sum + c_term + bias[j];
        magnitude += std::abs(c_term) + std::abs(bias[j]);
        const double tolerance = static_cast<double>(g.k + 2) * std::ldexp(1.0, -24) * magnitude;
        ASSERT_NEAR(one[i * g.n + j], want, tolerance) << "C(" << i << ", " << j << ")";
      }
    }
  }
}

}  // namespace
}  // namespace myelin
