// Devices of the emulated runtime: each an H100 SXM5 (its properties and attributes) whose 80 GiB
// are one reserved range of address space; the calling thread's current device, device
// synchronisation and free memory.
#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "internal.hpp"

namespace myelin::emu::detail {

namespace {

constexpr std::size_t kDeviceBytes = std::size_t{80} << 30;  // an H100's 80 GiB
constexpr std::size_t kMaxSharedPerBlock = 48 * 1024;
thread_local int t_device = 0;

cudaDeviceProp h100_properties(int index) {
  cudaDeviceProp p{};
  std::snprintf(p.name, sizeof p.name, "NVIDIA H100 80GB HBM3 (emulated)");
  p.totalGlobalMem = kDeviceBytes;
  p.sharedMemPerBlock = kMaxSharedPerBlock;
  p.regsPerBlock = 65536;
  p.warpSize = 32;
  p.memPitch = 2147483647;
  p.maxThreadsPerBlock = 1024;
  p.maxThreadsDim[0] = 1024;
  p.maxThreadsDim[1] = 1024;
  p.maxThreadsDim[2] = 64;
  p.maxGridSize[0] = 2147483647;
  p.maxGridSize[1] = 65535;
  p.maxGridSize[2] = 65535;
  p.totalConstMem = 65536;
  p.major = 9;
  p.minor = 0;
  p.textureAlignment = 512;
  p.multiProcessorCount = 132;
  p.canMapHostMemory = 1;
  p.concurrentKernels = 1;
  p.pciBusID = 0x18 + index;
  p.asyncEngineCount = 3;
  p.unifiedAddressing = 1;
  p.memoryBusWidth = 5120;
  p.l2CacheSize = 50 * 1024 * 1024;
  p.persistingL2CacheMaxSize = 31457280;
  p.maxThreadsPerMultiProcessor = 2048;
  p.sharedMemPerMultiprocessor = 233472;
  p.regsPerMultiprocessor = 65536;
  p.managedMemory = 1;
  p.sharedMemPerBlockOptin = 232448;
  p.maxBlocksPerMultiProcessor = 32;
  p.memoryPoolsSupported = 1;
  return p;
}

}  // namespace

std::unique_ptr<Device> make_device(int index) {
  auto d = std::make_unique<Device>();
  d->index = index;
  d->capacity = kDeviceBytes;
  d->limit = kDeviceBytes;
  void* base =
      mmap(nullptr, d->capacity, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    std::fprintf(stderr, "emulated device: cannot reserve %zu bytes of address space\n",
                 d->capacity);
    std::abort();
  }
  d->base = static_cast<char*>(base);
  d->free_extents[0] = d->capacity;
  d->props = h100_properties(index);
  d->legacy = std::make_shared<StreamState>();
  d->legacy->device = index;
  d->legacy->legacy = true;
  return d;
}

int current_device() {
  return t_device;
}

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- devices ------------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  ApiLock lock;
  if (count == nullptr) return set_error(cudaErrorInvalidValue);
  *count = 0;
  if (const cudaError_t old = driver_check()) return set_error(old);
  *count = static_cast<int>(emulator().devices.size());
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return set_error(cudaErrorInvalidValue);
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  ApiLock lock;
  if (const cudaError_t old = driver_check()) return set_error(old);
  if (device_at(device) == nullptr) return set_error(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  ApiLock lock;
  if (const cudaError_t old = driver_check()) return set_error(old);
  Device* d = device_at(device);
  if (d == nullptr) return set_error(cudaErrorInvalidDevice);
  if (prop == nullptr) return set_error(cudaErrorInvalidValue);
  *prop = d->props;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  ApiLock lock;
  Device* d = device_at(device);
  if (d == nullptr) return set_error(cudaErrorInvalidDevice);
  if (value == nullptr) return set_error(cudaErrorInvalidValue);
  const cudaDeviceProp& p = d->props;
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = p.maxThreadsPerBlock;
      break;
    case cudaDevAttrMaxBlockDimX:
      *value = p.maxThreadsDim[0];
      break;
    case cudaDevAttrMaxBlockDimY:
      *value = p.maxThreadsDim[1];
      break;
    case cudaDevAttrMaxBlockDimZ:
      *value = p.maxThreadsDim[2];
      break;
    case cudaDevAttrMaxGridDimX:
      *value = p.maxGridSize[0];
      break;
    case cudaDevAttrMaxGridDimY:
      *value = p.maxGridSize[1];
      break;
    case cudaDevAttrMaxGridDimZ:
      *value = p.maxGridSize[2];
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = static_cast<int>(p.sharedMemPerBlock);
      break;
    case cudaDevAttrTotalConstantMemory:
      *value = static_cast<int>(p.totalConstMem);
      break;
    case cudaDevAttrWarpSize:
      *value = p.warpSize;
      break;
    case cudaDevAttrMaxRegistersPerBlock:
      *value = p.regsPerBlock;
      break;
    case cudaDevAttrMultiProcessorCount:
      *value = p.multiProcessorCount;
      break;
    case cudaDevAttrGlobalMemoryBusWidth:
      *value = p.memoryBusWidth;
      break;
    case cudaDevAttrL2CacheSize:
      *value = p.l2CacheSize;
      break;
    case cudaDevAttrMaxThreadsPerMultiProcessor:
      *value = p.maxThreadsPerMultiProcessor;
      break;
    case cudaDevAttrUnifiedAddressing:
      *value = p.unifiedAddressing;
      break;
    case cudaDevAttrComputeCapabilityMajor:
      *value = p.major;
      break;
    case cudaDevAttrComputeCapabilityMinor:
      *value = p.minor;
      break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *value = static_cast<int>(p.sharedMemPerMultiprocessor);
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = static_cast<int>(p.sharedMemPerBlockOptin);
      break;
    case cudaDevAttrMemoryPoolsSupported:
      *value = p.memoryPoolsSupported;
      break;
    default:
      return set_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaDeviceSynchronize")) return set_error(c);
  const int device = current_device();
  ++emulator().counters.blocking_waits;
  cudaError_t e = run_all(device);
  const cudaError_t pending = take_pending(device);
  if (e == cudaSuccess) e = pending;
  trim_pools(device);
  return set_error(e);
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  ApiLock lock;
  Device* d = device_at(current_device());
  if (free_bytes == nullptr || total_bytes == nullptr) return set_error(cudaErrorInvalidValue);
  *total_bytes = d->limit;
  *free_bytes = d->limit > d->used ? d->limit - d->used : 0;
  return cudaSuccess;
}
