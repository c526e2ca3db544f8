#pragma once

// Launchers of the loss kernels (kernels/cross_entropy.cu, kernels/loss.cu). Each returns
// cudaGetLastError(). Losses are means: the per-element (or per-row) terms are summed in two
// stages in double (chunk / chunks from launch::reduce over the term count); `partials` holds
// 2 * chunks + 2 doubles (cross-entropy: 2 * rows more for its per-row terms). The result and
// the saved scale stay in device memory: nothing waits for the host.

#include <cuda_runtime_api.h>

#include <cstdint>

#include "device_errors.hpp"

namespace myelin::kernels {

struct CrossEntropyArgs {
  const float* logits;  // [rows, classes]
  const void* labels;   // [rows], int32 or int64
  bool labels_int64;
  float* probs;      // [rows, classes], saved for backward
  float* loss;       // scalar output
  float* inv_count;  // scalar saved: 1 / counted rows
  std::int64_t rows, classes;
  std::int64_t ignore_index;
  float label_smoothing;
  DeviceErrorRecord* errors;
  int node;
};

cudaError_t launch_cross_entropy_forward(const CrossEntropyArgs& a, bool warp_per_row, int blocks,
                                         int threads, std::int64_t chunk, std::int64_t chunks,
                                         double* partials, cudaStream_t stream);

// dlogits = (probs - target) * grad[0] * inv_count[0] (0 on ignored rows).
cudaError_t launch_cross_entropy_backward(const CrossEntropyArgs& a, const float* grad,
                                          float* dlogits, int blocks, cudaStream_t stream);

struct BceArgs {
  const float* logits;
  const float* targets;
  const void* mask;  // null, uint8 or float, same shape
  bool mask_uint8;
  float* loss;
  float* inv_count;
  std::int64_t n;
  DeviceErrorRecord* errors;
  int node;
};

cudaError_t launch_bce_forward(const BceArgs& a, int blocks, std::int64_t chunk,
                               std::int64_t chunks, double* partials, cudaStream_t stream);
cudaError_t launch_bce_backward(const BceArgs& a, const float* grad, float* dlogits, int blocks,
                                cudaStream_t stream);

cudaError_t launch_mse_forward(const float* a, const float* b, float* loss, std::int64_t n,
                               std::int64_t chunk, std::int64_t chunks, double* partials,
                               cudaStream_t stream);
// da = 2 (a - b) grad[0] / n, db = -da (either may be null).
cudaError_t launch_mse_backward(const float* a, const float* b, const float* grad, float* da,
                                float* db, std::int64_t n, int blocks, cudaStream_t stream);

}  // namespace myelin::kernels
