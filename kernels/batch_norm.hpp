#pragma once

// Launchers of the batch-norm kernels (kernels/batch_norm.cu). Each returns cudaGetLastError().
// Data is [outer = N, channels = C, inner = H * W] (inner = 1 for [N, F]); the channel sums use
// the geometry of launch::channel_reduce (columns, chunk, chunks), and `scratch` holds
// chunks * channels + 2 * channels doubles.

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

struct BatchNormShape {
  std::int64_t outer, channels, inner;
  bool columns;
  std::int64_t chunk, chunks;
};

// Training: batch mean and biased variance, the running statistics updated with `momentum`
// (unbiased variance) and num_batches_tracked incremented; mean and 1/sqrt(var + eps) saved;
// then y. Eval (train = false): the running statistics are used and not changed.
cudaError_t launch_batch_norm_forward(const BatchNormShape& s, bool train, const float* x,
                                      const float* weight, const float* bias, float* running_mean,
                                      float* running_var, std::int64_t* num_batches_tracked,
                                      float momentum, float eps, float* saved_mean,
                                      float* saved_invstd, float* y, double* scratch, int blocks,
                                      cudaStream_t stream);

// dweight, dbias (may be null) and dx (may be null).
cudaError_t launch_batch_norm_backward(const BatchNormShape& s, bool train, const float* x,
                                       const float* dy, const float* weight,
                                       const float* saved_mean, const float* saved_invstd,
                                       float* dx, float* dweight, float* dbias, double* scratch,
                                       int blocks, cudaStream_t stream);

}  // namespace myelin::kernels
