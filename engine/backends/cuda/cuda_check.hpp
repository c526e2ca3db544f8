#pragma once

// Every CUDA runtime call goes through MYELIN_CUDA_CHECK: a failure becomes a myelin::Error
// naming the call, the file and line, and CUDA's own description.

#include <cuda_runtime_api.h>

#include "myelin/error.hpp"

namespace myelin::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);

// Makes a device current for the calling thread during a scope and restores the previous one,
// so that no call leaves a "current device" behind.
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
  bool changed_ = false;
};

}  // namespace myelin::cuda

#define MYELIN_CUDA_CHECK(call)                                                    \
  do {                                                                             \
    const cudaError_t myelin_status_ = (call);                                     \
    if (myelin_status_ != cudaSuccess) {                                           \
      ::myelin::cuda::throw_cuda_error(myelin_status_, #call, __FILE__, __LINE__); \
    }                                                                              \
  } while (0)
