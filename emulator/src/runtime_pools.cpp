// Stream-ordered memory pools of the emulated runtime, one per device: cudaMallocAsync and
// cudaFreeAsync, reuse of freed blocks in stream order, trimming above the release threshold,
// and the pool's attributes.
#include <algorithm>
#include <memory>
#include <string>

#include "internal.hpp"

namespace myelin::emu::detail {

void trim_pools(int device) {
  Device* d = device_at(device);
  if (d == nullptr) return;
  Pool& pool = d->pool;
  if (pool.reserved <= pool.release_threshold) return;
  auto& blocks = pool.blocks;
  for (auto it = blocks.begin(); it != blocks.end() && pool.reserved > pool.release_threshold;) {
    PoolBlock& b = **it;
    if (b.in_use || !b.free_done) {
      ++it;
      continue;
    }
    const std::size_t total = block_bytes(b.capacity);
    unpoison(b.ptr - kRedzone, total);
    heap_give(*d, b.ptr - kRedzone, total);
    pool.reserved -= total;
    ++emulator().counters.pool_releases;
    it = blocks.erase(it);
  }
}

namespace {

PoolBlock* pool_find(Pool& pool, std::size_t bytes, const StreamState* stream) {
  PoolBlock* best = nullptr;
  for (auto& b : pool.blocks) {
    if (b->in_use || b->capacity < bytes) continue;
    // Reuse memory freed in this stream (stream order makes it safe), or whose free has run.
    if (b->free_stream != stream && !b->free_done) continue;
    // A block much larger than the request is left for larger requests.
    if (b->capacity > std::max<std::size_t>(2 * bytes, bytes + (std::size_t{1} << 16))) continue;
    if (best == nullptr || b->capacity < best->capacity) best = b.get();
  }
  return best;
}

Device* pool_device(cudaMemPool_t pool) {
  auto it = emulator().pools.find(pool);
  return it == emulator().pools.end() ? nullptr : device_at(it->second);
}

}  // namespace

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- memory pools -------------------------------------------------------------------------------

cudaError_t cudaMallocAsync(void** ptr, std::size_t bytes, cudaStream_t stream) {
  ApiLock lock;
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capture) {  // memory nodes of graphs are not emulated
    invalidate_capture(
        *s->capture, cudaErrorStreamCaptureUnsupported,
        "cudaMallocAsync on a capturing stream (the emulator records no memory nodes)");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  if (const cudaError_t old = driver_check()) return set_error(old);
  Emulator& e = emulator();
  ++e.counters.allocation_calls;
  if (allocation_fails()) return set_error(cudaErrorMemoryAllocation);
  // The pool of the stream's device.
  Device& d = *device_at(s->device);
  Pool& pool = d.pool;
  const std::size_t need = round_up(bytes == 0 ? 1 : bytes, kRedzone);
  PoolBlock* b = pool_find(pool, need, s.get());
  if (b == nullptr) {  // the pool grows
    const std::size_t total = block_bytes(need);
    char* block = heap_take(d, total);
    if (block == nullptr) {
      // Out of memory: give back what the pool holds free, then try once more.
      const std::uint64_t threshold = pool.release_threshold;
      pool.release_threshold = 0;
      trim_pools(d.index);
      pool.release_threshold = threshold;
      block = heap_take(d, total);
      if (block == nullptr) return set_error(cudaErrorMemoryAllocation);
    }
    auto owned = std::make_unique<PoolBlock>();
    owned->ptr = block + kRedzone;
    owned->capacity = need;
    b = owned.get();
    pool.blocks.push_back(std::move(owned));
    pool.reserved += total;
    pool.reserved_high = std::max(pool.reserved_high, pool.reserved);
    ++e.counters.device_allocations;
  }
  b->in_use = true;
  b->bytes = bytes;
  b->free_stream = nullptr;
  b->free_done = false;
  pool.used += b->capacity;
  pool.used_high = std::max(pool.used_high, pool.used);
  e.allocations[reinterpret_cast<std::uintptr_t>(b->ptr)] =
      Allocation{d.index, b->ptr, bytes, b, ++e.allocation_ids};
  // The allocation becomes usable in stream order: fresh bytes, redzones around them.
  Op op;
  op.devices.push_back(d.index);
  char* user = b->ptr;
  const std::size_t capacity = b->capacity;
  op.run = [user, capacity, bytes]() {
    shape_block(user - kRedzone, block_bytes(capacity), user, bytes, true);
    return cudaSuccess;
  };
  enqueue(*s, std::move(op));
  *ptr = b->ptr;
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  ApiLock lock;
  if (ptr == nullptr) return cudaSuccess;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capture) {  // memory nodes of graphs are not emulated
    invalidate_capture(
        *s->capture, cudaErrorStreamCaptureUnsupported,
        "cudaFreeAsync on a capturing stream (the emulator records no memory nodes)");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  Emulator& e = emulator();
  auto it = e.allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == e.allocations.end()) return set_error(cudaErrorInvalidValue);
  // Work queued before the free still uses the memory; its record goes when the free runs.
  const Allocation a = it->second;
  e.allocations.erase(it);
  e.freeing.emplace(reinterpret_cast<std::uintptr_t>(a.ptr), a);
  if (a.pool_block == nullptr) {  // cudaMalloc memory freed in stream order: straight back
    Device& d = *device_at(a.device);
    Op op;
    op.devices.push_back(a.device);
    op.run = [&d, a]() {
      const std::size_t total = block_bytes(a.bytes);
      char* block = a.ptr - kRedzone;
      cudaError_t err = cudaSuccess;
      if (!redzones_intact(block, total, a.ptr, a.bytes)) {
        err = fault(cudaErrorIllegalAddress,
                    "cudaFreeAsync: device code wrote outside an allocation of " +
                        std::to_string(a.bytes) + " bytes (its redzone changed)");
      }
      unpoison(block, total);
      heap_give(d, block, total);
      forget_allocation(a.ptr, a.id);
      return err;
    };
    enqueue(*s, std::move(op));
    return cudaSuccess;
  }
  PoolBlock* b = a.pool_block;
  b->in_use = false;
  b->free_stream = s.get();
  b->free_done = false;
  ++b->frees_pending;
  device_at(a.device)->pool.used -= b->capacity;
  Op op;
  op.devices.push_back(a.device);
  op.run = [b, a]() {
    cudaError_t err = cudaSuccess;
    if (!redzones_intact(b->ptr - kRedzone, block_bytes(b->capacity), b->ptr, a.bytes)) {
      err = fault(cudaErrorIllegalAddress,
                  "cudaFreeAsync: device code wrote outside an allocation of " +
                      std::to_string(a.bytes) + " bytes (its redzone changed)");
    }
    poison(b->ptr, b->capacity);  // freed: any later access is a use after free
    b->free_done = --b->frees_pending == 0 && !b->in_use;
    forget_allocation(a.ptr, a.id);
    return err;
  };
  enqueue(*s, std::move(op));
  return cudaSuccess;
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  ApiLock lock;
  Device* d = device_at(device);
  if (d == nullptr) return set_error(cudaErrorInvalidDevice);
  if (pool == nullptr) return set_error(cudaErrorInvalidValue);
  *pool = reinterpret_cast<cudaMemPool_t>(&d->pool);
  emulator().pools[&d->pool] = device;
  return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t handle, cudaMemPoolAttr attr, void* value) {
  ApiLock lock;
  Device* d = pool_device(handle);
  if (d == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  if (value == nullptr) return set_error(cudaErrorInvalidValue);
  switch (attr) {
    case cudaMemPoolAttrReleaseThreshold:
      d->pool.release_threshold = *static_cast<std::uint64_t*>(value);
      return cudaSuccess;
    case cudaMemPoolReuseFollowEventDependencies:
    case cudaMemPoolReuseAllowOpportunistic:
    case cudaMemPoolReuseAllowInternalDependencies:
      return cudaSuccess;  // reuse is modelled as: same stream, or the free has executed
    case cudaMemPoolAttrReservedMemHigh:
      d->pool.reserved_high = d->pool.reserved;
      return cudaSuccess;
    case cudaMemPoolAttrUsedMemHigh:
      d->pool.used_high = d->pool.used;
      return cudaSuccess;
    default:
      return set_error(cudaErrorInvalidValue);
  }
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t handle, cudaMemPoolAttr attr, void* value) {
  ApiLock lock;
  Device* d = pool_device(handle);
  if (d == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  if (value == nullptr) return set_error(cudaErrorInvalidValue);
  const Pool& p = d->pool;
  auto* out = static_cast<std::uint64_t*>(value);
  switch (attr) {
    case cudaMemPoolAttrReleaseThreshold:
      *out = p.release_threshold;
      break;
    case cudaMemPoolAttrReservedMemCurrent:
      *out = p.reserved;
      break;
    case cudaMemPoolAttrReservedMemHigh:
      *out = p.reserved_high;
      break;
    case cudaMemPoolAttrUsedMemCurrent:
      *out = p.used;
      break;
    case cudaMemPoolAttrUsedMemHigh:
      *out = p.used_high;
      break;
    case cudaMemPoolReuseFollowEventDependencies:
    case cudaMemPoolReuseAllowOpportunistic:
    case cudaMemPoolReuseAllowInternalDependencies:
      *static_cast<int*>(value) = 1;
      break;
  }
  return cudaSuccess;
}

cudaError_t cudaMemPoolTrimTo(cudaMemPool_t handle, std::size_t min_bytes_to_keep) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaMemPoolTrimTo")) return set_error(c);
  Device* d = pool_device(handle);
  if (d == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  const std::uint64_t threshold = d->pool.release_threshold;
  d->pool.release_threshold = min_bytes_to_keep;
  trim_pools(d->index);
  d->pool.release_threshold = threshold;
  return cudaSuccess;
}
