#pragma once

// Launchers of the bias kernels (kernels/bias.cu). Each returns cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// y[r, j] += bias[j] for a [rows, cols] matrix.
cudaError_t launch_bias_add(float* y, const float* bias, std::int64_t rows, std::int64_t cols,
                            int blocks, cudaStream_t stream);

// dbias[j] = sum over r of dy[r, j], two-stage by column blocks over `chunks` chunks of `chunk`
// rows (launch::channel_reduce with inner 1); `scratch` holds chunks * cols + cols doubles.
cudaError_t launch_bias_grad(const float* dy, std::int64_t rows, std::int64_t cols,
                             std::int64_t chunk, std::int64_t chunks, double* scratch, float* dbias,
                             cudaStream_t stream);

}  // namespace myelin::kernels
