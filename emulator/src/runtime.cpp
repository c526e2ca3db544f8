// The CUDA runtime subset of the emulated device: devices (the properties of an H100 SXM5),
// device memory in protected regions with redzones, stream-ordered pools, streams that run their
// work lazily (when the host waits for it), events, copies and sets, error handling and the
// counters.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include "internal.hpp"

#if defined(MYELIN_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace myelin::emu::detail {

namespace {

constexpr std::size_t kDeviceBytes = std::size_t{80} << 30;  // an H100's 80 GiB
constexpr std::size_t kMaxSharedPerBlock = 48 * 1024;
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;
thread_local int t_api_depth = 0;

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

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

int env_int(const char* name, int fallback, int low, int high) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < low || v > high) {
    std::fprintf(stderr, "emulated device: %s=%s is not an integer in [%d, %d]\n", name, text, low,
                 high);
    std::abort();
  }
  return static_cast<int>(v);
}

// Takes `bytes` (a multiple of kRedzone) from the device: first fit. Returns null when full.
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

// Bytes a block takes for `bytes` of user data: leading redzone, data, trailing redzone.
std::size_t block_bytes(std::size_t bytes) {
  return kRedzone + round_up(bytes == 0 ? 1 : bytes, kRedzone) + kRedzone;
}

// Marks [user, user + bytes) usable and the rest of the block's span [block, block + total)
// as redzone. Runs with the device's memory accessible when canaries are written.
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

// Whether the redzones around [user, user + bytes) still hold the canary (always true under
// AddressSanitizer, which reports a bad access when it happens).
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

std::string describe_pointer(const void* p) {
  std::ostringstream out;
  out << p;
  const int d = device_of(p);
  if (d >= 0) out << " (cuda:" << d << ")";
  return out.str();
}

// Pointer classes of a copy.
enum class Where { kDevice, kPinned, kPageable };

Where where_is(const void* p, std::size_t bytes) {
  if (device_of(p) >= 0) return Where::kDevice;
  return is_pinned(p, bytes) ? Where::kPinned : Where::kPageable;
}

}  // namespace

void poison(const void* p, std::size_t bytes) {
#if defined(MYELIN_EMU_ASAN)
  if (bytes > 0) ASAN_POISON_MEMORY_REGION(p, bytes);
#else
  (void)p;
  (void)bytes;
#endif
}

void unpoison(const void* p, std::size_t bytes) {
#if defined(MYELIN_EMU_ASAN)
  if (bytes > 0) ASAN_UNPOISON_MEMORY_REGION(p, bytes);
#else
  (void)p;
  (void)bytes;
#endif
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

void count_work(const std::string& name) {
  ++emulator().work[name.substr(0, name.find('<'))];
}

Emulator& emulator() {
  static Emulator* e = [] {
    auto* made = new Emulator;  // lives for the whole process: teardown order is not ours
    const int count = env_int("MYELIN_EMU_DEVICES", 2, 1, 8);
    for (int i = 0; i < count; ++i) made->devices.push_back(make_device(i));
    const char* seed = std::getenv("MYELIN_EMU_SEED");
    made->seed = seed != nullptr && *seed != '\0' ? std::strtoull(seed, nullptr, 10) : 1;
    return made;
  }();
  return *e;
}

ApiLock::ApiLock() : lock_(emulator().mutex) {
  ++t_api_depth;
}

ApiLock::~ApiLock() {
  if (--t_api_depth == 0) revoke_access();
}

cudaError_t set_error(cudaError_t code) {
  if (code != cudaSuccess) t_last_error = code;
  return code;
}

cudaError_t fault(cudaError_t code, const std::string& message) {
  emulator().last_fault = message;
  std::fprintf(stderr, "emulated device fault: %s\n", message.c_str());
  return code;
}

int current_device() {
  return t_device;
}

Device* device_at(int index) {
  Emulator& e = emulator();
  if (index < 0 || index >= static_cast<int>(e.devices.size())) return nullptr;
  return e.devices[static_cast<std::size_t>(index)].get();
}

int device_of(const void* p) {
  const char* c = static_cast<const char*>(p);
  for (const auto& d : emulator().devices) {
    if (c >= d->base && c < d->base + d->capacity) return d->index;
  }
  return -1;
}

const Allocation* find_allocation(const void* p, std::size_t bytes) {
  const Emulator& e = emulator();
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto it = e.allocations.upper_bound(addr);
  if (it == e.allocations.begin()) return nullptr;
  --it;
  const Allocation& a = it->second;
  if (addr + bytes > it->first + a.bytes) return nullptr;
  return &a;
}

bool is_pinned(const void* p, std::size_t bytes) {
  const Emulator& e = emulator();
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto it = e.pinned.upper_bound(addr);
  if (it == e.pinned.begin()) return false;
  --it;
  return addr + bytes <= it->first + it->second;
}

void grant_access(const std::vector<int>& devices) {
  for (const auto& d : emulator().devices) {
    const bool want = std::find(devices.begin(), devices.end(), d->index) != devices.end();
    if (want && d->accessible_extent == 0 && d->high_water > 0) {
      d->accessible_extent = round_up(d->high_water, page_size());
      mprotect(d->base, d->accessible_extent, PROT_READ | PROT_WRITE);
    } else if (!want && d->accessible_extent != 0) {
      mprotect(d->base, d->accessible_extent, PROT_NONE);
      d->accessible_extent = 0;
    }
  }
}

void revoke_access() {
  grant_access({});
}

StreamPtr resolve_stream(cudaStream_t stream) {
  Emulator& e = emulator();
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) {
    Device* d = device_at(current_device());
    return d != nullptr ? d->legacy : nullptr;
  }
  auto it = e.streams.find(stream);
  return it == e.streams.end() ? nullptr : it->second;
}

void enqueue(StreamState& s, Op op) {
  Device& d = *device_at(s.device);
  op.seq = ++s.enqueued;
  // Legacy default-stream semantics: the legacy stream waits for every blocking stream of its
  // device, and blocking streams wait for the legacy stream.
  if (s.legacy) {
    for (const auto& weak : d.streams) {
      if (StreamPtr other = weak.lock()) {
        if (!other->non_blocking && other->enqueued > other->completed) {
          op.deps.emplace_back(other, other->enqueued);
        }
      }
    }
  } else if (!s.non_blocking && d.legacy->enqueued > d.legacy->completed) {
    op.deps.emplace_back(d.legacy, d.legacy->enqueued);
  }
  s.pending.push_back(std::move(op));
}

cudaError_t run_until(StreamState& s, std::uint64_t seq) {
  cudaError_t first = cudaSuccess;
  while (s.completed < seq && !s.pending.empty()) {
    Op op = std::move(s.pending.front());
    s.pending.pop_front();
    for (auto& [other, other_seq] : op.deps) {
      if (other->completed < other_seq) {
        const cudaError_t e = run_until(*other, other_seq);
        if (first == cudaSuccess) first = e;
      }
    }
    grant_access(op.devices);
    const cudaError_t e = op.run();
    s.completed = op.seq;
    if (e != cudaSuccess) {
      if (first == cudaSuccess) first = e;
      Device* d = device_at(s.device);
      if (d != nullptr && d->pending_error == cudaSuccess) d->pending_error = e;
    }
  }
  return first;
}

cudaError_t run_all(int device) {
  Device* d = device_at(device);
  cudaError_t first = run_until(*d->legacy, d->legacy->enqueued);
  for (const auto& weak : d->streams) {
    if (StreamPtr s = weak.lock()) {
      const cudaError_t e = run_until(*s, s->enqueued);
      if (first == cudaSuccess) first = e;
    }
  }
  return first;
}

// Takes the fault found while running a device's work, if any (reported once).
cudaError_t take_pending(int device) {
  Device* d = device_at(device);
  if (d == nullptr) return cudaSuccess;
  const cudaError_t e = d->pending_error;
  d->pending_error = cudaSuccess;
  return e;
}

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

// Waits for `stream`'s work up to `seq` as a synchronising call: counts the wait, trims the
// device's pool, and reports a fault found in the device's work.
cudaError_t synchronize_to(StreamState& s, std::uint64_t seq) {
  ++emulator().counters.blocking_waits;
  cudaError_t e = run_until(s, seq);
  const cudaError_t pending = take_pending(s.device);
  if (e == cudaSuccess) e = pending;
  trim_pools(s.device);
  return e;
}

cudaError_t check_device_range(const void* p, std::size_t bytes, const char* what) {
  if (find_allocation(p, bytes) != nullptr) return cudaSuccess;
  std::ostringstream m;
  m << what << ": [" << describe_pointer(p) << ", +" << bytes
    << ") is not inside one live device allocation";
  fault(cudaErrorInvalidValue, m.str());
  return cudaErrorInvalidValue;
}

// Queues a copy; pageable host sources are read now (the runtime stages them), everything else
// when the copy executes.
cudaError_t queue_copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                       StreamState& s, bool* to_pageable_host) {
  *to_pageable_host = false;
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const Where from = where_is(src, bytes), to = where_is(dst, bytes);
  const bool dev_src = from == Where::kDevice, dev_dst = to == Where::kDevice;
  switch (kind) {
    case cudaMemcpyHostToHost:
      if (dev_src || dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyHostToDevice:
      if (dev_src || !dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDeviceToHost:
      if (!dev_src || dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDeviceToDevice:
      if (!dev_src || !dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDefault:
      break;
    default:
      return cudaErrorInvalidMemcpyDirection;
  }
  if (dev_src && check_device_range(src, bytes, "copy source") != cudaSuccess) {
    return cudaErrorInvalidValue;
  }
  if (dev_dst && check_device_range(dst, bytes, "copy destination") != cudaSuccess) {
    return cudaErrorInvalidValue;
  }
  Counters& c = emulator().counters;
  if (dev_src && dev_dst) {
    c.bytes_device_to_device += bytes;
  } else if (dev_dst) {
    c.bytes_host_to_device += bytes;
  } else if (dev_src) {
    c.bytes_device_to_host += bytes;
  }
  Op op;
  if (dev_src) op.devices.push_back(device_of(src));
  if (dev_dst && device_of(dst) != device_of(src)) op.devices.push_back(device_of(dst));
  if (from == Where::kPageable) {
    auto staged = std::make_shared<std::vector<unsigned char>>(
        static_cast<const unsigned char*>(src), static_cast<const unsigned char*>(src) + bytes);
    op.run = [dst, staged]() {
      std::memcpy(dst, staged->data(), staged->size());
      return cudaSuccess;
    };
  } else {
    op.run = [dst, src, bytes]() {
      std::memmove(dst, src, bytes);
      return cudaSuccess;
    };
  }
  enqueue(s, std::move(op));
  *to_pageable_host = to == Where::kPageable;
  return cudaSuccess;
}

cudaError_t queue_memset(void* p, int value, std::size_t bytes, StreamState& s) {
  if (bytes == 0) return cudaSuccess;
  if (device_of(p) < 0) return cudaErrorInvalidValue;
  if (check_device_range(p, bytes, "memset") != cudaSuccess) return cudaErrorInvalidValue;
  Op op;
  op.devices.push_back(device_of(p));
  op.run = [p, value, bytes]() {
    std::memset(p, value, bytes);
    return cudaSuccess;
  };
  enqueue(s, std::move(op));
  return cudaSuccess;
}

// cudaMalloc-style memory straight from the device.
cudaError_t device_malloc(Device& d, std::size_t bytes, void** out) {
  const std::size_t total = block_bytes(bytes);
  char* block = heap_take(d, total);
  if (block == nullptr) return cudaErrorMemoryAllocation;
  char* user = block + kRedzone;
  grant_access({d.index});
  shape_block(block, total, user, bytes, true);
  Emulator& e = emulator();
  e.allocations[reinterpret_cast<std::uintptr_t>(user)] = Allocation{d.index, user, bytes, nullptr};
  ++e.counters.device_allocations;
  *out = user;
  return cudaSuccess;
}

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

}  // namespace

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- errors and versions ------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  return t_last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError:
      return "cudaErrorInitializationError";
    case cudaErrorCudartUnloading:
      return "cudaErrorCudartUnloading";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidSymbol:
      return "cudaErrorInvalidSymbol";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver:
      return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady:
      return "cudaErrorNotReady";
    case cudaErrorIllegalAddress:
      return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources:
      return "cudaErrorLaunchOutOfResources";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported:
      return "cudaErrorNotSupported";
    case cudaErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorUnknown:
      return "cudaErrorUnknown";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInitializationError:
      return "initialization error";
    case cudaErrorCudartUnloading:
      return "driver shutting down";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidSymbol:
      return "invalid device symbol";
    case cudaErrorInvalidDevicePointer:
      return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection:
      return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver:
      return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice:
      return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorNotReady:
      return "device not ready";
    case cudaErrorIllegalAddress:
      return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources:
      return "too many resources requested for launch";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure";
    case cudaErrorNotSupported:
      return "operation not supported";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorUnknown:
      return "unknown error";
  }
  return "unknown error";
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return set_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return set_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

// ---- devices ------------------------------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  ApiLock lock;
  if (count == nullptr) return set_error(cudaErrorInvalidValue);
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
  if (device_at(device) == nullptr) return set_error(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  ApiLock lock;
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

// ---- memory -------------------------------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  ApiLock lock;
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
  ++emulator().counters.allocation_calls;
  Device* d = device_at(current_device());
  return set_error(device_malloc(*d, bytes, ptr));
}

cudaError_t cudaFree(void* ptr) {
  ApiLock lock;
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

cudaError_t cudaMallocAsync(void** ptr, std::size_t bytes, cudaStream_t stream) {
  ApiLock lock;
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  Emulator& e = emulator();
  ++e.counters.allocation_calls;
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
  e.allocations[reinterpret_cast<std::uintptr_t>(b->ptr)] = Allocation{d.index, b->ptr, bytes, b};
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
  Emulator& e = emulator();
  auto it = e.allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == e.allocations.end()) return set_error(cudaErrorInvalidValue);
  const Allocation a = it->second;
  e.allocations.erase(it);
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
      return err;
    };
    enqueue(*s, std::move(op));
    return cudaSuccess;
  }
  PoolBlock* b = a.pool_block;
  b->in_use = false;
  b->free_stream = s.get();
  b->free_done = false;
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
    b->free_done = true;
    return err;
  };
  enqueue(*s, std::move(op));
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) {
  ApiLock lock;
  if (ptr == nullptr) return set_error(cudaErrorInvalidValue);
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

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  ApiLock lock;
  Device* d = device_at(device);
  if (d == nullptr) return set_error(cudaErrorInvalidDevice);
  if (pool == nullptr) return set_error(cudaErrorInvalidValue);
  *pool = reinterpret_cast<cudaMemPool_t>(&d->pool);
  emulator().pools[&d->pool] = device;
  return cudaSuccess;
}

namespace {
Device* pool_device(cudaMemPool_t pool) {
  auto it = emulator().pools.find(pool);
  return it == emulator().pools.end() ? nullptr : device_at(it->second);
}
}  // namespace

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
  Device* d = pool_device(handle);
  if (d == nullptr) return set_error(cudaErrorInvalidResourceHandle);
  const std::uint64_t threshold = d->pool.release_threshold;
  d->pool.release_threshold = min_bytes_to_keep;
  trim_pools(d->index);
  d->pool.release_threshold = threshold;
  return cudaSuccess;
}

// ---- copies and sets ----------------------------------------------------------------------------

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  bool to_pageable = false;
  const cudaError_t e = queue_copy(dst, src, bytes, kind, *s, &to_pageable);
  if (e != cudaSuccess) return set_error(e);
  count_work("cudaMemcpyAsync");
  // A copy to pageable host memory returns only once it is done.
  if (to_pageable) return set_error(synchronize_to(*s, s->enqueued));
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  ApiLock lock;
  StreamPtr s = resolve_stream(nullptr);
  bool to_pageable = false;
  const bool host_source = device_of(src) < 0;
  const cudaError_t e = queue_copy(dst, src, bytes, kind, *s, &to_pageable);
  if (e != cudaSuccess) return set_error(e);
  count_work("cudaMemcpy");
  // cudaMemcpy waits for the copy unless it is device to device.
  if (host_source || to_pageable || device_of(dst) < 0) {
    return set_error(synchronize_to(*s, s->enqueued));
  }
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  return set_error(queue_memset(ptr, value, bytes, *s));
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  return cudaMemsetAsync(ptr, value, bytes, nullptr);
}

// ---- streams ------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  ApiLock lock;
  if (stream == nullptr || (flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0) {
    return set_error(cudaErrorInvalidValue);
  }
  auto s = std::make_shared<StreamState>();
  s->device = current_device();
  s->non_blocking = (flags & cudaStreamNonBlocking) != 0;
  Emulator& e = emulator();
  device_at(s->device)->streams.push_back(s);
  e.streams[s.get()] = s;
  *stream = reinterpret_cast<cudaStream_t>(s.get());
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.streams.find(stream);
  if (it == e.streams.end()) return set_error(cudaErrorInvalidResourceHandle);
  StreamPtr s = it->second;
  // The work already queued still runs (cudaStreamDestroy returns at once and the device
  // finishes it): here, now.
  cudaError_t err = run_until(*s, s->enqueued);
  e.streams.erase(it);
  auto& list = device_at(s->device)->streams;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::weak_ptr<StreamState>& w) {
                              const StreamPtr p = w.lock();
                              return !p || p == s;
                            }),
             list.end());
  return set_error(err);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  return set_error(synchronize_to(*s, s->enqueued));
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  ++emulator().counters.event_queries;
  cudaError_t e = run_until(*s, s->enqueued);
  const cudaError_t pending = take_pending(s->device);
  if (e == cudaSuccess) e = pending;
  return set_error(e);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end() || flags != 0) return set_error(cudaErrorInvalidResourceHandle);
  const EventState& ev = *it->second;
  if (!ev.stream) return cudaSuccess;  // never recorded: nothing to wait for
  Op op;
  op.deps.emplace_back(ev.stream, ev.seq);
  op.run = [] { return cudaSuccess; };
  enqueue(*s, std::move(op));
  return cudaSuccess;
}

cudaError_t cudaStreamGetFlags(cudaStream_t stream, unsigned int* flags) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s || flags == nullptr) return set_error(cudaErrorInvalidValue);
  *flags = s->non_blocking ? cudaStreamNonBlocking : cudaStreamDefault;
  return cudaSuccess;
}

// ---- events -------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  ApiLock lock;
  if (event == nullptr) return set_error(cudaErrorInvalidValue);
  auto ev = std::make_unique<EventState>();
  ev->device = current_device();
  ev->flags = flags;
  *event = reinterpret_cast<cudaEvent_t>(ev.get());
  emulator().events[ev.get()] = std::move(ev);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  ApiLock lock;
  if (emulator().events.erase(event) == 0) return set_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  EventState& ev = *it->second;
  // An event and the stream it is recorded on must belong to the same device.
  if (ev.device != s->device) return set_error(cudaErrorInvalidResourceHandle);
  // A marker in the stream: the event completes when the work queued before it has.
  Op op;
  op.run = [] { return cudaSuccess; };
  enqueue(*s, std::move(op));
  ev.stream = s;
  ev.seq = s->enqueued;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  EventState& ev = *it->second;
  if (!ev.stream) {
    ++e.counters.blocking_waits;
    return cudaSuccess;
  }
  return set_error(synchronize_to(*ev.stream, ev.seq));
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  ++e.counters.event_queries;
  EventState& ev = *it->second;
  if (!ev.stream) return cudaSuccess;
  cudaError_t err = run_until(*ev.stream, ev.seq);
  const cudaError_t pending = take_pending(ev.stream->device);
  if (err == cudaSuccess) err = pending;
  return set_error(err);
}

// ---- kernel launches ----------------------------------------------------------------------------

namespace myelin::emu::detail {

void enqueue_kernel(LaunchRequest request) {
  ApiLock lock;
  StreamPtr s = resolve_stream(request.stream);
  if (!s) {
    set_error(cudaErrorInvalidResourceHandle);
    return;
  }
  Device& d = *device_at(s->device);
  const cudaDeviceProp& p = d.props;
  const dim3 g = request.grid, b = request.block;
  const unsigned long long threads =
      static_cast<unsigned long long>(b.x) * b.y * static_cast<unsigned long long>(b.z);
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0 ||
      threads > static_cast<unsigned long long>(p.maxThreadsPerBlock) ||
      b.x > static_cast<unsigned>(p.maxThreadsDim[0]) ||
      b.y > static_cast<unsigned>(p.maxThreadsDim[1]) ||
      b.z > static_cast<unsigned>(p.maxThreadsDim[2]) ||
      g.x > static_cast<unsigned>(p.maxGridSize[0]) ||
      g.y > static_cast<unsigned>(p.maxGridSize[1]) ||
      g.z > static_cast<unsigned>(p.maxGridSize[2])) {
    set_error(cudaErrorInvalidConfiguration);
    return;
  }
  if (request.shared_bytes > p.sharedMemPerBlock) {
    set_error(cudaErrorInvalidValue);
    return;
  }
  // A kernel launch fails when issued to a stream of a device other than the current one.
  if (s->device != current_device()) {
    set_error(cudaErrorInvalidResourceHandle);
    return;
  }
  Emulator& e = emulator();
  ++e.counters.launches;
  count_work(request.name);
  Op op;
  op.devices.push_back(s->device);
  const int device = s->device;
  op.run = [request = std::move(request), device]() {
    Emulator& em = emulator();
    const std::uint64_t seed = mix(em.seed ^ mix(++em.launches_run));
    return run_grid(request, device, seed);
  };
  enqueue(*s, std::move(op));
}

}  // namespace myelin::emu::detail

// ---- the emulator's own interface ---------------------------------------------------------------

namespace myelin::emu {

Counters counters() {
  detail::ApiLock lock;
  return detail::emulator().counters;
}

Counters operator-(const Counters& b, const Counters& a) {
  Counters d;
  d.launches = b.launches - a.launches;
  d.device_allocations = b.device_allocations - a.device_allocations;
  d.allocation_calls = b.allocation_calls - a.allocation_calls;
  d.pool_releases = b.pool_releases - a.pool_releases;
  d.bytes_host_to_device = b.bytes_host_to_device - a.bytes_host_to_device;
  d.bytes_device_to_host = b.bytes_device_to_host - a.bytes_device_to_host;
  d.bytes_device_to_device = b.bytes_device_to_device - a.bytes_device_to_device;
  d.blocking_waits = b.blocking_waits - a.blocking_waits;
  d.event_queries = b.event_queries - a.event_queries;
  return d;
}

int device_count() {
  detail::ApiLock lock;
  return static_cast<int>(detail::emulator().devices.size());
}

void set_schedule_seed(std::uint64_t seed) {
  detail::ApiLock lock;
  detail::emulator().seed = seed;
  detail::emulator().launches_run = 0;  // the launches that follow get the same orders again
}

std::uint64_t schedule_seed() {
  detail::ApiLock lock;
  return detail::emulator().seed;
}

std::string last_fault() {
  detail::ApiLock lock;
  return detail::emulator().last_fault;
}

void set_memory_limit(int device, std::size_t bytes) {
  detail::ApiLock lock;
  detail::Device* d = detail::device_at(device);
  if (d != nullptr) d->limit = bytes == 0 ? d->capacity : std::min(bytes, d->capacity);
}

std::map<std::string, std::uint64_t> work_counts() {
  detail::ApiLock lock;
  return detail::emulator().work;
}

void set_cublaslt_algorithms(bool available) {
  detail::ApiLock lock;
  detail::emulator().lt_algorithms = available;
}

bool is_device_pointer(const void* ptr) {
  detail::ApiLock lock;
  return detail::device_of(ptr) >= 0;
}

}  // namespace myelin::emu
