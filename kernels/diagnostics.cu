// Training diagnostics: per-unit statistics of an activation (how often a unit is active, how
// often it sits in a flat tail, its sum and sum of squares).
//
// Work mapping: one thread per column (unit), grid-stride over the columns; each thread walks
// the rows in order, so neighbouring threads read neighbouring addresses of a row (coalesced)
// and every sum is added in one fixed order: the same bits every run, no atomics. The counts are
// exact; the sums are in double.
#include "common.cuh"
#include "diagnostics.hpp"

namespace myelin::kernels {

namespace {

__global__ void column_statistics_kernel(const float* __restrict__ x, std::int64_t rows,
                                         std::int64_t columns, float low, float high,
                                         double* __restrict__ out) {
  for (std::int64_t c = global_thread(); c < columns; c += grid_stride()) {
    double active = 0.0, tails = 0.0, sum = 0.0, squares = 0.0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float v = x[r * columns + c];
      active += v > 0.0f ? 1.0 : 0.0;
      tails += (v < low || v > high) ? 1.0 : 0.0;
      sum += static_cast<double>(v);
      squares += static_cast<double>(v) * static_cast<double>(v);
    }
    out[4 * c] = active;
    out[4 * c + 1] = tails;
    out[4 * c + 2] = sum;
    out[4 * c + 3] = squares;
  }
}

}  // namespace

cudaError_t launch_column_statistics(const float* x, std::int64_t rows, std::int64_t columns,
                                     float low, float high, double* out, cudaStream_t stream) {
  if (columns > 0) {
    const std::int64_t wanted = (columns + 255) / 256;
    const auto blocks = static_cast<unsigned>(wanted < 1024 ? wanted : 1024);
    MYELIN_LAUNCH_KERNEL(column_statistics_kernel, blocks, 256, 0, stream, x, rows, columns, low,
                         high, out);
  }
  return cudaGetLastError();
}

}  // namespace myelin::kernels
