#pragma once

// Launchers of the fused multi-tensor optimizer kernels (kernels/optimizer.cu). Each returns
// cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

#include "update_rules.hpp"

namespace myelin::kernels {

// One parameter in the table of a multi-tensor launch.
struct ParamSlots {
  float* w;
  const float* g;
  float* s[3];  // the rule's state slots (null where it keeps none)
  std::int64_t n;
  int group;  // index into the constants
};

// The device tables of one launch: params[count], and chunk k covering elements
// [chunk_start[k], chunk_start[k] + chunk) of params[chunk_tensor[k]]
// (launch::multi_tensor_chunks).
struct MultiTensorTable {
  const ParamSlots* params;
  const std::int32_t* chunk_tensor;
  const std::int64_t* chunk_start;
  std::int64_t chunks;
  std::int64_t chunk;
};

inline constexpr int kMaxGroups = 16;

// The scalars a step reads, written to device memory before the launch (by value through
// launch_write_constants, so the host never waits and a captured graph can replay it).
struct StepConstants {
  UpdateConstants<float> groups[kMaxGroups];
};

cudaError_t launch_write_constants(StepConstants* target, const StepConstants& value,
                                   cudaStream_t stream);

// The clip scale that tells the update kernel to leave every parameter and state as it was.
inline constexpr float kSkipUpdate = -1.0f;

// Global L2 norm of all gradients: per-chunk sums of squares in double (partials[chunks]),
// added in chunk order; writes norm[0] and scale[0] = min(1, max_norm / (norm + 1e-6)) (1 when
// max_norm <= 0), or kSkipUpdate when the norm is not finite.
cudaError_t launch_grad_norm(const MultiTensorTable& table, double* partials, double max_norm,
                             double* norm, float* scale, cudaStream_t stream);

// Updates every parameter in one launch, reading the clip scale from device memory (nothing
// when it is kSkipUpdate).
cudaError_t launch_multi_tensor_update(const MultiTensorTable& table,
                                       const StepConstants* constants, const float* clip_scale,
                                       cudaStream_t stream);

}  // namespace myelin::kernels
