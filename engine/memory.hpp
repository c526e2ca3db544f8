#pragma once

#include <cstddef>
#include <memory>

#include "myelin/device.hpp"

namespace myelin {

// Backing memory of tensors: 64-byte aligned host memory, or device memory from the CUDA
// backend's stream-ordered allocator.
struct Storage {
  void* ptr = nullptr;  // the tensor's data (after the front guard region, if any)
  std::size_t bytes = 0;
  Device device;
  std::size_t guard = 0;  // bytes of guard region before and after the data (0: none)

  Storage(void* p, std::size_t n, Device d, std::size_t guard_bytes = 0)
      : ptr(p), bytes(n), device(d), guard(guard_bytes) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes);

// Guard regions for tests of kernels: kGuardBytes of kGuardByte before and after the data, so
// that a write out of bounds shows as a changed guard.
inline constexpr std::size_t kGuardBytes = 256;  // keeps the data 256-byte aligned
inline constexpr unsigned char kGuardByte = 0xA5;
std::shared_ptr<Storage> allocate_guarded_storage(Device device, std::size_t bytes);
// Whether both guard regions still hold kGuardByte (true for storage without guards).
bool guards_intact(const Storage& storage);

// Copies bytes between any two devices (synchronously).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes);

}  // namespace myelin
