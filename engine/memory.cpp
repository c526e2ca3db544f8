#include "memory.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "myelin/error.hpp"
#include "myelin/tensor.hpp"

#include "backends/backend.hpp"

namespace myelin {

Storage::Storage(void* p, std::size_t n, Device d, std::size_t guard_bytes,
                 std::shared_ptr<cuda::Stream> s)
    : ptr(p), bytes(n), device(d), guard(guard_bytes), stream(std::move(s)) {}

Storage::~Storage() {
  if (ptr == nullptr || parent || owner) return;
  if (device.is_cpu()) {
    std::free(static_cast<unsigned char*>(ptr) - guard);
  } else {
    backend::free_device_storage(*this);
  }
}

std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes,
                                          std::shared_ptr<cuda::Stream> stream) {
  if (device.is_cpu()) {
    // aligned_alloc wants a size that is a multiple of the alignment; never ask for 0 bytes.
    const std::size_t rounded =
        ((bytes == 0 ? 1 : bytes) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    if (p == nullptr) fail("out of host memory: could not allocate ", bytes, " bytes");
    return std::make_shared<Storage>(p, bytes, device);
  }
  return backend::allocate_device_storage(device, bytes, std::move(stream));
}

std::shared_ptr<Storage> storage_view(const std::shared_ptr<Storage>& parent, std::size_t offset,
                                      std::size_t bytes) {
  if (!parent || offset > parent->bytes || bytes > parent->bytes - offset) {
    fail("storage view: ", bytes, " bytes at offset ", offset, " lie outside ",
         parent ? parent->bytes : 0, " bytes of storage");
  }
  auto view = std::make_shared<Storage>(static_cast<unsigned char*>(parent->ptr) + offset, bytes,
                                        parent->device, 0, parent->stream);
  view->parent = parent;
  return view;
}

std::shared_ptr<Storage> allocate_guarded_storage(Device device, std::size_t bytes,
                                                  std::shared_ptr<cuda::Stream> stream) {
  const std::size_t total = bytes + 2 * kGuardBytes;
  std::shared_ptr<Storage> raw = allocate_storage(device, total, std::move(stream));
  // Take the memory over from `raw`, which must no longer free it.
  void* base = raw->ptr;
  raw->ptr = nullptr;
  auto storage = std::make_shared<Storage>(static_cast<unsigned char*>(base) + kGuardBytes, bytes,
                                           device, kGuardBytes, raw->stream);
  std::vector<unsigned char> pattern(kGuardBytes, kGuardByte);
  copy_bytes(base, storage.get(), pattern.data(), nullptr, kGuardBytes);
  copy_bytes(static_cast<unsigned char*>(base) + kGuardBytes + bytes, storage.get(), pattern.data(),
             nullptr, kGuardBytes);
  return storage;
}

bool guards_intact(const Storage& storage) {
  if (storage.guard == 0) return true;
  std::vector<unsigned char> front(storage.guard), back(storage.guard);
  const auto* data = static_cast<const unsigned char*>(storage.ptr);
  copy_bytes(front.data(), nullptr, data - storage.guard, &storage, storage.guard);
  copy_bytes(back.data(), nullptr, data + storage.bytes, &storage, storage.guard);
  for (std::size_t i = 0; i < storage.guard; ++i) {
    if (front[i] != kGuardByte || back[i] != kGuardByte) return false;
  }
  return true;
}

void copy_bytes(void* dst, const Storage* dst_storage, const void* src, const Storage* src_storage,
                std::size_t bytes) {
  if (bytes == 0) return;
  const bool dst_device = dst_storage != nullptr && dst_storage->device.is_cuda();
  const bool src_device = src_storage != nullptr && src_storage->device.is_cuda();
  if (!dst_device && !src_device) {
    std::memcpy(dst, src, bytes);
    return;
  }
  backend::copy_device_bytes(dst, dst_storage, src, src_storage, bytes);
}

void use_on(Storage& storage, const std::shared_ptr<cuda::Stream>& stream) {
  if (storage.parent) {  // the parent's free must wait for the stream
    use_on(*storage.parent, stream);
    return;
  }
  if (!storage.device.is_cuda() || !stream || stream == storage.stream) return;
  backend::use_device_storage_on(storage, stream);
}

}  // namespace myelin
