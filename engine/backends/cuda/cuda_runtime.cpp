#include "backends/cuda/cuda_runtime.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <string>

#include "backends/cuda/cuda_check.hpp"

namespace myelin::cuda {

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  fail(call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")");
}

DeviceGuard::DeviceGuard(int index) {
  MYELIN_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != index) MYELIN_CUDA_CHECK(cudaSetDevice(index));
  changed_ = previous_ != index;
}

DeviceGuard::~DeviceGuard() {
  if (changed_) cudaSetDevice(previous_);
}

CurrentDevice::CurrentDevice(int device) {
  int current = 0;
  MYELIN_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device) {
    MYELIN_CUDA_CHECK(cudaSetDevice(device));
    previous_ = current;
  }
}

CurrentDevice::~CurrentDevice() {
  if (previous_ >= 0) cudaSetDevice(previous_);
}

int runtime_version_built() {
  return CUDART_VERSION;
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS) {
    return "unknown";
  }
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

int device_count(std::string* why) {
  int count = 0;
  // Without a driver this call fails (it does not return 0): report that as "no GPU".
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error state for later calls
    if (why != nullptr) {
      *why = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
             cudaGetErrorString(status) + ")";
    }
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA driver reports no device";
  return count;
}

void require_device(int index) {
  std::string why;
  const int count = device_count(&why);
  if (count == 0) fail("no usable CUDA device: ", why);
  if (index < 0 || index >= count) {
    fail("CUDA device ", index, " does not exist (", count, " device", count == 1 ? "" : "s",
         " found)");
  }
}

void* device_alloc(int index, std::size_t bytes) {
  require_device(index);
  DeviceGuard guard(index);
  void* ptr = nullptr;
  // The stream-ordered allocator's default pool; the legacy stream orders it against copies.
  const cudaError_t status = cudaMallocAsync(&ptr, bytes == 0 ? 1 : bytes, nullptr);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    fail("out of memory on cuda:", index, ": asked for ", bytes, " bytes, ", free_bytes, " of ",
         total_bytes, " bytes free");
  }
  MYELIN_CUDA_CHECK(status);
  return ptr;
}

void device_free(int index, void* ptr) noexcept {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return;
  if (previous != index) cudaSetDevice(index);
  cudaFreeAsync(ptr, nullptr);
  if (previous != index) cudaSetDevice(previous);
}

void copy(void* dst, Device dst_device, const void* src, Device src_device, std::size_t bytes) {
  const int index = dst_device.is_cuda() ? dst_device.index : src_device.index;
  DeviceGuard guard(index);
  cudaMemcpyKind kind = cudaMemcpyDefault;  // unified addressing tells the direction
  MYELIN_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
}

}  // namespace myelin::cuda
