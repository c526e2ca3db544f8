#pragma once

// Launchers of the Philox kernels (kernels/random.cu).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// out[i] = uniform_float(word i % 4 of philox_block(seed, stream_id, step, i / 4)), i < n: the
// same values the host's Rng(seed, stream_id, step) draws one after another.
void launch_philox_uniform(float* out, std::int64_t n, std::uint64_t seed, std::uint32_t stream_id,
                           std::uint64_t step, cudaStream_t stream);

}  // namespace myelin::kernels
