#pragma once

// Launchers of the softmax kernels (kernels/softmax.cu). Each returns cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// Softmax (or log-softmax) of each row of a [rows, cols] matrix. warp_per_row, blocks and
// threads come from launch::rows.
cudaError_t launch_softmax_forward(bool log, const float* x, float* y, std::int64_t rows,
                                   std::int64_t cols, bool warp_per_row, int blocks, int threads,
                                   cudaStream_t stream);

// Softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy).
cudaError_t launch_softmax_backward(bool log, const float* y, const float* dy, float* dx,
                                    std::int64_t rows, std::int64_t cols, bool warp_per_row,
                                    int blocks, int threads, cudaStream_t stream);

}  // namespace myelin::kernels
