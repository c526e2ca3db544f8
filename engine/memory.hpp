#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "myelin/device.hpp"

namespace myelin {

namespace cuda {
class Stream;
}

// Backing memory of tensors: 64-byte aligned host memory, or device memory from the CUDA
// backend's stream-ordered allocator. Device memory belongs to a stream: it is allocated and
// freed in that stream's order, and copies to and from it run on it. A stream that uses the
// memory besides its own is recorded (use_on), and the free waits for that stream's work too.
struct Storage {
  void* ptr = nullptr;  // the tensor's data (after the front guard region, if any)
  std::size_t bytes = 0;
  Device device;
  std::size_t guard = 0;  // bytes of guard region before and after the data (0: none)
  std::shared_ptr<cuda::Stream> stream;              // device memory: its own stream
  std::vector<std::shared_ptr<cuda::Stream>> users;  // other streams that used it
  // A view: `ptr` lies inside the parent's memory, which the parent owns and frees.
  std::shared_ptr<Storage> parent;
  // Host memory owned elsewhere (a pinned staging buffer of the CUDA backend): kept alive while
  // the storage is, never freed by it.
  std::shared_ptr<void> owner;

  Storage(void* p, std::size_t n, Device d, std::size_t guard_bytes = 0,
          std::shared_ptr<cuda::Stream> s = nullptr);
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();
};

// Host memory, or device memory allocated on `stream` (null: the library's stream of the device,
// for tensors made outside any executor).
std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes,
                                          std::shared_ptr<cuda::Stream> stream = nullptr);

// `bytes` of `parent`'s memory from `offset` on, as storage of its own that keeps the parent
// alive (the executor's arena hands out its buffers this way).
std::shared_ptr<Storage> storage_view(const std::shared_ptr<Storage>& parent, std::size_t offset,
                                      std::size_t bytes);

// Guard regions for tests of kernels: kGuardBytes of kGuardByte before and after the data, so
// that a write out of bounds shows as a changed guard.
inline constexpr std::size_t kGuardBytes = 256;  // keeps the data 256-byte aligned
inline constexpr unsigned char kGuardByte = 0xA5;
std::shared_ptr<Storage> allocate_guarded_storage(Device device, std::size_t bytes,
                                                  std::shared_ptr<cuda::Stream> stream = nullptr);
// Whether both guard regions still hold kGuardByte (true for storage without guards).
bool guards_intact(const Storage& storage);

// Copies bytes between memory of two storages, or plain host memory (a null storage).
// Synchronous: it runs after the work already queued on the streams involved and is complete on
// return.
void copy_bytes(void* dst, const Storage* dst_storage, const void* src, const Storage* src_storage,
                std::size_t bytes);

// `storage` (device memory) is about to be used on `stream`: the stream waits for the work
// already queued on the storage's own stream, and the storage is not freed before the stream's
// work that uses it has run.
void use_on(Storage& storage, const std::shared_ptr<cuda::Stream>& stream);

}  // namespace myelin
