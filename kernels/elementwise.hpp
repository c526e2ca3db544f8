#pragma once

// Launchers of the elementwise kernels (kernels/elementwise.cu). Each returns cudaGetLastError().

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// y = a + b.
cudaError_t launch_add(const float* a, const float* b, float* y, std::int64_t n, bool vectorized,
                       int blocks, cudaStream_t stream);
// dst += src.
cudaError_t launch_accumulate(float* dst, const float* src, std::int64_t n, bool vectorized,
                              int blocks, cudaStream_t stream);
// t *= factor.
cudaError_t launch_scale(float* t, float factor, std::int64_t n, int blocks, cudaStream_t stream);
// t = clamp(t, -limit, limit).
cudaError_t launch_clamp(float* t, float limit, std::int64_t n, int blocks, cudaStream_t stream);
// *out = sum of t[i]^2 in double, two-stage with `chunk` elements per block and `chunks` blocks
// (launch::reduce); `partials` holds `chunks` doubles.
cudaError_t launch_sum_of_squares(const float* t, std::int64_t n, std::int64_t chunk,
                                  std::int64_t chunks, double* partials, double* out,
                                  cudaStream_t stream);
// *target = value, ordered on the stream (how per-step scalars reach device memory).
cudaError_t launch_write_u64(std::uint64_t* target, std::uint64_t value, cudaStream_t stream);

}  // namespace myelin::kernels
