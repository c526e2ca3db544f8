#pragma once

#include <cstdint>

#include "myelin/tensor.hpp"

namespace myelin::cuda {

// n uniform floats drawn on device `device` by the Philox kernel: element i equals the host's
// Rng(seed, stream_id, step)'s i-th uniform_float().
Tensor philox_uniform(Device device, std::int64_t n, std::uint64_t seed, std::uint32_t stream_id,
                      std::uint64_t step);

}  // namespace myelin::cuda
