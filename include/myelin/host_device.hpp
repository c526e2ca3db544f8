#pragma once

// Marks functions that compile for both the host and CUDA devices (when nvcc compiles them).
// Kernel sources compiled for the emulated device contract a * b + c into fused multiply-adds,
// as nvcc does, and the CPU path's sources do not: there these functions are inlined at every
// call, so that no out-of-line copy compiled one way can stand in for the other's.
#if defined(__CUDACC__)
#define MYELIN_HOST_DEVICE __host__ __device__
#elif defined(MYELIN_EMULATED_CUDACC)
#define MYELIN_HOST_DEVICE __attribute__((always_inline))
#else
#define MYELIN_HOST_DEVICE
#endif
