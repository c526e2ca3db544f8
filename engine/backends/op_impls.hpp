#pragma once

// How an op schema file wires its backend implementations: the CPU path always, the CUDA backend
// where it is built (the one place outside the backends that knows whether it is).

#include "backends/cpu/cpu_ops.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/op_impls.hpp"
// Wires an op's CUDA implementation and names the kernels it launches.
#define MYELIN_CUDA_IMPL(def, forward, backward, ...)                        \
  do {                                                                       \
    (def).impls[static_cast<int>(Backend::kCuda)] = {(forward), (backward)}; \
    (def).cuda_kernels = {__VA_ARGS__};                                      \
  } while (0)
// A CUDA function where the backend is built, nothing otherwise.
#define MYELIN_IF_CUDA(fn) (fn)
#else
#define MYELIN_IF_CUDA(fn) KernelFn()
#define MYELIN_CUDA_IMPL(def, forward, backward, ...) \
  do {                                                \
  } while (0)
#endif
