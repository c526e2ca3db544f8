#pragma once

#include <cstddef>
#include <memory>

#include "myelin/device.hpp"

namespace myelin {

// Backing memory of tensors: 64-byte aligned host memory, or device memory from the CUDA
// backend's stream-ordered allocator.
struct Storage {
  void* ptr = nullptr;
  std::size_t bytes = 0;
  Device device;

  Storage(void* p, std::size_t n, Device d) : ptr(p), bytes(n), device(d) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes);

// Copies bytes between any two devices (synchronously).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes);

}  // namespace myelin
