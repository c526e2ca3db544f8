// Device memory of the emulated runtime: the first-fit heap of each device's region, blocks with
// redzones around the user's bytes, cudaMalloc and cudaFree, pinned host memory and pointer
// attributes. The stream-ordered pools are in runtime_pools.cpp.
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <iterator>
#include <sstream>

#include "internal.hpp"

namespace myelin::emu::detail {

char* heap_take(Device& d, std::size_t bytes) {
  for (auto it = d.free_extents.begin(); it != d.free_extents.end(); ++it) {
    const auto [offset, size] = *it;
    if (size < bytes || offset + bytes > d.limit) continue;
    d.free_extents.erase(it);
    if (size > bytes) d.free_extents[offset + bytes] = size - bytes;
    d.used += bytes;
    if (offset + bytes > d.high_water) {
      const std::size_t old_extent = d.accessible_extent;
      d.high_water = offset + bytes;
      if (old_extent != 0) {  // accessible right now: extend the accessible range too
        const std::size_t extent = round_up(d.high_water, page_size());
        mprotect(d.base + old_extent, extent - old_extent, PROT_READ | PROT_WRITE);
        d.accessible_extent = extent;
      }
    }
    return d.base + offset;
  }
  return nullptr;
}

void heap_give(Device& d, char* p, std::size_t bytes) {
  std::size_t offset = static_cast<std::size_t>(p - d.base);
  d.used -= bytes;
  // Large blocks give their pages back to the host; they are refilled when reused.
  if (bytes >= (std::size_t{1} << 20)) {
    const std::size_t first = round_up(offset, page_size());
    const std::size_t last = (offset + bytes) / page_size() * page_size();
    if (last > first) madvise(d.base + first, last - first, MADV_DONTNEED);
  }
  auto next = d.free_extents.lower_bound(offset);
  if (next != d.free_extents.end() && next->first == offset + bytes) {
    bytes += next->second;
    next = d.free_extents.erase(next);
  }
  if (next != d.free_extents.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      bytes += prev->second;
      d.free_extents.erase(prev);
    }
  }
  d.free_extents[offset] = bytes;
}

std::size_t block_bytes(std::size_t bytes) {
  return kRedzone + round_up(bytes == 0 ? 1 : bytes, kRedzone) + kRedzone;
}

void shape_block(char* block, std::size_t total, char* user, std::size_t bytes, bool fill) {
#if defined(MYELIN_EMU_ASAN)
  unpoison(block, total);
  if (fill) std::memset(user, kFreshByte, bytes);
  poison(block, static_cast<std::size_t>(user - block));
  poison(user + bytes, static_cast<std::size_t>(block + total - (user + bytes)));
#else
  std::memset(block, kCanary, static_cast<std::size_t>(user - block));
  if (fill) std::memset(user, kFreshByte, bytes);
  std::memset(user + bytes, kCanary, static_cast<std::size_t>(block + total - (user + bytes)));
#endif
}

bool redzones_intact(const char* block, std::size_t total, const char* user, std::size_t bytes) {
#if defined(MYELIN_EMU_ASAN)
  (void)block;
  (void)total;
  (void)user;
  (void)bytes;
  return true;
#else
  for (const char* p = block; p < user; ++p) {
    if (static_cast<unsigned char>(*p) != kCanary) return false;
  }
  for (const char* p = user + bytes; p < block + total; ++p) {
    if (static_cast<unsigned char>(*p) != kCanary) return false;
  }
  return true;
#endif
}

namespace {

// cudaMalloc-style memory straight from the device.
cudaError_t device_malloc(Device& d, std::size_t bytes, void** out) {
  const std::size_t total = block_bytes(bytes);
  char* block = heap_take(d, total);
  if (block == nullptr) return cudaErrorMemoryAllocation;
  char* user = block + kRedzone;
  grant_access({d.index});
  shape_block(block, total, user, bytes, true);
  Emulator& e = emulator();
  e.allocations[reinterpret_cast<std::uintptr_t>(user)] =
      Allocation{d.index, user, bytes, nullptr, ++e.allocation_ids};
  ++e.counters.device_allocations;
  *out = user;
  return cudaSuccess;
}

}  // namespace

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- memory -------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaMalloc")) return set_error(c);
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
  if (const cudaError_t old = driver_check()) return set_error(old);
  ++emulator().counters.allocation_calls;
  if (allocation_fails()) return set_error(cudaErrorMemoryAllocation);
  Device* d = device_at(current_device());
  return set_error(device_malloc(*d, bytes, ptr));
}

cudaError_t cudaFree(void* ptr) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaFree")) return set_error(c);
  if (ptr == nullptr) return cudaSuccess;
  Emulator& e = emulator();
  auto it = e.allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == e.allocations.end()) return set_error(cudaErrorInvalidValue);
  const Allocation a = it->second;
  // cudaFree synchronises the device first.
  ++e.counters.blocking_waits;
  cudaError_t err = run_all(a.device);
  Device& d = *device_at(a.device);
  e.allocations.erase(it);
  if (a.pool_block != nullptr) {  // memory of a pool goes back to its pool
    PoolBlock& b = *a.pool_block;
    b.in_use = false;
    b.free_stream = nullptr;
    b.free_done = true;
    d.pool.used -= b.capacity;
    poison(b.ptr, b.capacity);
  } else {
    grant_access({a.device});
    const std::size_t total = block_bytes(a.bytes);
    char* block = a.ptr - kRedzone;
    if (!redzones_intact(block, total, a.ptr, a.bytes)) {
      std::ostringstream m;
      m << "cudaFree(" << ptr << "): device code wrote outside this allocation of " << a.bytes
        << " bytes (its redzone changed)";
      err = fault(cudaErrorIllegalAddress, m.str());
    }
    unpoison(block, total);
    heap_give(d, block, total);
  }
  const cudaError_t pending = take_pending(a.device);
  if (err == cudaSuccess) err = pending;
  trim_pools(a.device);
  return set_error(err);
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaMallocHost")) return set_error(c);
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
  if (const cudaError_t old = driver_check()) return set_error(old);
  if (allocation_fails()) return set_error(cudaErrorMemoryAllocation);
  const std::size_t rounded = round_up(bytes == 0 ? 1 : bytes, page_size());
  void* p = std::aligned_alloc(page_size(), rounded);
  if (p == nullptr) return set_error(cudaErrorMemoryAllocation);
  emulator().pinned[reinterpret_cast<std::uintptr_t>(p)] = rounded;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned int /*flags*/) {
  return cudaMallocHost(ptr, bytes);
}

cudaError_t cudaFreeHost(void* ptr) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaFreeHost")) return set_error(c);
  if (ptr == nullptr) return cudaSuccess;
  Emulator& e = emulator();
  auto it = e.pinned.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == e.pinned.end()) return set_error(cudaErrorInvalidValue);
  // Pending copies may still read or write it: like cudaFreeHost, wait for the devices.
  ++e.counters.blocking_waits;
  cudaError_t err = cudaSuccess;
  for (const auto& d : e.devices) {
    const cudaError_t r = run_all(d->index);
    if (err == cudaSuccess) err = r;
  }
  e.pinned.erase(it);
  std::free(ptr);
  return set_error(err);
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
  ApiLock lock;
  if (attributes == nullptr) return set_error(cudaErrorInvalidValue);
  *attributes = cudaPointerAttributes{cudaMemoryTypeUnregistered, -1, nullptr, nullptr};
  const int device = device_of(ptr);
  if (device >= 0) {
    *attributes =
        cudaPointerAttributes{cudaMemoryTypeDevice, device, const_cast<void*>(ptr), nullptr};
  } else if (is_pinned(ptr, 1)) {
    *attributes = cudaPointerAttributes{cudaMemoryTypeHost, current_device(),
                                        const_cast<void*>(ptr), const_cast<void*>(ptr)};
  }
  return cudaSuccess;
}
