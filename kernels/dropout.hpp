#pragma once

// Launchers of the dropout kernels (kernels/dropout.cu). Each returns cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// mask[i] = word i % 4 of philox_block(seed, stream_id, *step, i / 4) >= threshold;
// y[i] = mask[i] ? x[i] * scale : 0 (drop_all: p = 1, every mask bit 0). The step is read
// from device memory.
cudaError_t launch_dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n,
                                   std::uint64_t seed, std::uint32_t stream_id,
                                   const std::uint64_t* step, std::uint32_t threshold,
                                   bool drop_all, float scale, int blocks, cudaStream_t stream);

// dx[i] = mask[i] ? dy[i] * scale : 0.
cudaError_t launch_dropout_backward(const float* dy, const std::uint8_t* mask, float* dx,
                                    std::int64_t n, float scale, int blocks, cudaStream_t stream);

}  // namespace myelin::kernels
