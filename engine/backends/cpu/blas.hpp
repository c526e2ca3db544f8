#pragma once

#include <cstdint>

namespace myelin::cpu {

// Row-major C = alpha * op(A) * op(B) + beta * C through OpenBLAS; op(X) is X or its transpose.
// op(A) is m x k, op(B) is k x n, C is m x n. A non-null row_bias (n values) is then added to
// every row of C. The same bits for any number of threads.
template <typename T>
void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, T alpha,
          const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
          std::int64_t ldc, const T* row_bias = nullptr);

// C is cut into rectangular tiles of tile_m x tile_n (the last ones in each direction smaller),
// each at least kMinGemmTileDim on a side where C is that large and worth at least
// kMinGemmTileMacs multiply-adds. A GEMM of up to kLargeGemmMacs multiply-adds gets at most
// kBaseGemmTiles tiles, a larger one kBaseGemmTiles per kLargeGemmMacs (rounded down to a power
// of two), up to kMaxGemmTiles. All a function of the shape only, never of the thread count, so
// that every element of C is summed in the same order however many threads run the tiles.
inline constexpr std::int64_t kBaseGemmTiles = 4;
inline constexpr std::int64_t kMaxGemmTiles = 64;
inline constexpr std::int64_t kLargeGemmMacs = std::int64_t{1} << 30;
inline constexpr std::int64_t kMinGemmTileDim = 64;
inline constexpr std::int64_t kMinGemmTileMacs = std::int64_t{1} << 19;

struct GemmTiling {
  std::int64_t tile_m, tile_n, tiles_m, tiles_n;
};

GemmTiling gemm_tiling(std::int64_t m, std::int64_t n, std::int64_t k);

// "OpenBLAS 0.3.21 (OpenMP)" and the like.
const char* blas_description();

}  // namespace myelin::cpu
