#include "memory.hpp"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/tensor.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_runtime.hpp"
#endif

namespace myelin {

#if !defined(MYELIN_WITH_CUDA)
namespace {
[[noreturn]] void no_cuda(const char* what) {
  fail(what,
       ": myelin was built without the CUDA backend (configure with -DMYELIN_CUDA=ON on a "
       "machine with the CUDA toolkit)");
}
}  // namespace
#endif

Storage::~Storage() {
  if (ptr == nullptr) return;
  void* base = static_cast<unsigned char*>(ptr) - guard;
  if (device.is_cpu()) {
    std::free(base);
  } else {
#if defined(MYELIN_WITH_CUDA)
    cuda::device_free(device.index, base);
#endif
  }
}

std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes) {
  if (device.is_cpu()) {
    // aligned_alloc wants a size that is a multiple of the alignment; never ask for 0 bytes.
    const std::size_t rounded =
        ((bytes == 0 ? 1 : bytes) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    if (p == nullptr) fail("out of host memory: could not allocate ", bytes, " bytes");
    return std::make_shared<Storage>(p, bytes, device);
  }
#if defined(MYELIN_WITH_CUDA)
  return std::make_shared<Storage>(cuda::device_alloc(device.index, bytes), bytes, device);
#else
  no_cuda("allocating a tensor on cuda");
#endif
}

std::shared_ptr<Storage> allocate_guarded_storage(Device device, std::size_t bytes) {
  const std::size_t total = bytes + 2 * kGuardBytes;
  std::shared_ptr<Storage> raw = allocate_storage(device, total);
  // Take the memory over from `raw`, which must no longer free it.
  void* base = raw->ptr;
  raw->ptr = nullptr;
  auto storage = std::make_shared<Storage>(static_cast<unsigned char*>(base) + kGuardBytes, bytes,
                                           device, kGuardBytes);
  std::vector<unsigned char> pattern(kGuardBytes, kGuardByte);
  copy_bytes(base, device, pattern.data(), Device::cpu(), kGuardBytes);
  copy_bytes(static_cast<unsigned char*>(base) + kGuardBytes + bytes, device, pattern.data(),
             Device::cpu(), kGuardBytes);
  return storage;
}

bool guards_intact(const Storage& storage) {
  if (storage.guard == 0) return true;
  std::vector<unsigned char> front(storage.guard), back(storage.guard);
  const auto* data = static_cast<const unsigned char*>(storage.ptr);
  copy_bytes(front.data(), Device::cpu(), data - storage.guard, storage.device, storage.guard);
  copy_bytes(back.data(), Device::cpu(), data + storage.bytes, storage.device, storage.guard);
  for (std::size_t i = 0; i < storage.guard; ++i) {
    if (front[i] != kGuardByte || back[i] != kGuardByte) return false;
  }
  return true;
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if defined(MYELIN_WITH_CUDA)
  cuda::copy(dst, dst_device, src, src_device, bytes);
#else
  no_cuda("copying a tensor to or from cuda");
#endif
}

}  // namespace myelin
