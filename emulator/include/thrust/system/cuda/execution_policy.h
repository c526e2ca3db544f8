#pragma once

// The emulated device's stand-in for thrust::cuda::par: the execution policy of Thrust's CUDA
// system, with .on(stream).

#include "cuda_runtime_api.h"

namespace thrust::cuda {

struct par_t {
  cudaStream_t stream = nullptr;
  par_t on(cudaStream_t s) const { return par_t{s}; }
};

inline constexpr par_t par{};

}  // namespace thrust::cuda
