#pragma once

// Launchers of the training-diagnostics kernels (kernels/diagnostics.cu). Each returns
// cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// Per-column statistics of an activation x [rows, columns] (row-major), four doubles per column
// in out[4 * columns]: the rows where x > 0, the rows where x < low or x > high (the flat tails
// of a saturating activation), the sum and the sum of squares.
cudaError_t launch_column_statistics(const float* x, std::int64_t rows, std::int64_t columns,
                                     float low, float high, double* out, cudaStream_t stream);

}  // namespace myelin::kernels
