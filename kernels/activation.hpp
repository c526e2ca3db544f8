#pragma once

// Launchers of the activation kernels (kernels/activation.cu). Each returns cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

#include "activation_math.hpp"

namespace myelin::kernels {

// y = f(x) over n floats. `vectorized`: x and y are 16-byte aligned, so float4 loads and stores
// cover the first n / 4 * 4 elements and a scalar loop the rest.
cudaError_t launch_activation_forward(Activation kind, const ActivationParams& params,
                                      const float* x, float* y, std::int64_t n, bool vectorized,
                                      int blocks, cudaStream_t stream);

// dx = f'(x) dy (y = f(x) from the forward pass).
cudaError_t launch_activation_backward(Activation kind, const ActivationParams& params,
                                       const float* x, const float* y, const float* dy, float* dx,
                                       std::int64_t n, bool vectorized, int blocks,
                                       cudaStream_t stream);

}  // namespace myelin::kernels
