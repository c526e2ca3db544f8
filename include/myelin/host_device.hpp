#pragma once

// Marks functions that compile for both the host and CUDA devices (when nvcc compiles them).
#if defined(__CUDACC__)
#define MYELIN_HOST_DEVICE __host__ __device__
#else
#define MYELIN_HOST_DEVICE
#endif
