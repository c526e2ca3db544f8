#pragma once

// Every CUDA runtime call goes through MYELIN_CUDA_CHECK: a failure becomes a myelin::Error
// naming the call, the file and line, and CUDA's own description. A query goes through query():
// its "not ready" answer is an answer, not an error.

#include <cuda_runtime_api.h>

#include <string>

#include "backends/cuda/device_guard.hpp"
#include "myelin/error.hpp"

namespace myelin::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);

// On the emulated device, " [emulated device: MYELIN_EMU_SEED=... MYELIN_EMU_PROGRESS=...]":
// what reproduces a failure, appended to every CUDA error message; "" on a real GPU.
std::string schedule_note();

// Whether the work before `event` has completed, without waiting. The runtime records a
// cudaErrorNotReady answer as the thread's last error too, where the next launch's
// cudaGetLastError() would report it as that launch's failure: it is cleared here (as PyTorch's
// stream and event wrappers do). Any other status throws, naming `what`.
bool query(cudaEvent_t event, const char* what);

}  // namespace myelin::cuda

#define MYELIN_CUDA_CHECK(call)                                                    \
  do {                                                                             \
    const cudaError_t myelin_status_ = (call);                                     \
    if (myelin_status_ != cudaSuccess) {                                           \
      ::myelin::cuda::throw_cuda_error(myelin_status_, #call, __FILE__, __LINE__); \
    }                                                                              \
  } while (0)
