// The core of the emulated device's CUDA runtime: the emulator's state (created on first use),
// the API lock, access to device memory while work executes, error handling, and the emulator's
// own interface. Each topic of the API (devices, memory, pools, copies, streams, events,
// launches) has a runtime_*.cpp of its own.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "internal.hpp"

#if defined(MYELIN_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace myelin::emu::detail {

namespace {

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_api_depth = 0;

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

[[noreturn]] void bad_setting(const char* name, const std::string& text, const char* expected) {
  std::fprintf(stderr, "emulated device: %s=%s: %s\n", name, text.c_str(), expected);
  std::abort();
}

Progress progress_from_env() {
  const char* text = std::getenv("MYELIN_EMU_PROGRESS");
  if (text == nullptr || *text == '\0' || std::strcmp(text, "async") == 0) return Progress::kAsync;
  if (std::strcmp(text, "lazy") == 0) return Progress::kLazy;
  if (std::strcmp(text, "eager") == 0) return Progress::kEager;
  bad_setting("MYELIN_EMU_PROGRESS", text, "expected async, lazy or eager");
}

std::uint64_t positive(const char* name, const std::string& text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v == 0) {
    bad_setting(name, text, "a count must be a positive integer");
  }
  return v;
}

// MYELIN_EMU_FAULTS: launch:NAME[:N[:running]], alloc:N, driver:VERSION, comma-separated.
void faults_from_env(Emulator& e) {
  const char* text = std::getenv("MYELIN_EMU_FAULTS");
  if (text == nullptr) return;
  std::stringstream all(text);
  std::string item;
  while (std::getline(all, item, ',')) {
    if (item.empty()) continue;
    std::vector<std::string> parts;
    std::stringstream fields(item);
    std::string field;
    while (std::getline(fields, field, ':')) parts.push_back(field);
    if (parts[0] == "launch" && parts.size() >= 2 && parts.size() <= 4 && !parts[1].empty()) {
      LaunchFault f;
      f.name = parts[1];
      if (parts.size() >= 3) f.remaining = positive("MYELIN_EMU_FAULTS", parts[2]);
      if (parts.size() == 4) {
        if (parts[3] != "running") bad_setting("MYELIN_EMU_FAULTS", item, "expected ':running'");
        f.while_running = true;
      }
      e.launch_faults.push_back(f);
    } else if (parts[0] == "alloc" && parts.size() == 2) {
      e.allocation_fault = positive("MYELIN_EMU_FAULTS", parts[1]);
    } else if (parts[0] == "driver" && parts.size() == 2) {
      e.driver_version = static_cast<int>(positive("MYELIN_EMU_FAULTS", parts[1]));
    } else {
      bad_setting("MYELIN_EMU_FAULTS", item,
                  "expected launch:NAME[:N[:running]], alloc:N or driver:VERSION");
    }
  }
}

}  // namespace

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

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

std::string base_name(const std::string& name) {
  return name.substr(0, name.find('<'));
}

void count_work(const std::string& name) {
  ++emulator().work[base_name(name)];
}

Emulator& emulator() {
  static Emulator* e = [] {
    auto* made = new Emulator;  // lives for the whole process: teardown order is not ours
    const int count = env_int("MYELIN_EMU_DEVICES", 2, 1, 8);
    for (int i = 0; i < count; ++i) made->devices.push_back(make_device(i));
    const char* seed = std::getenv("MYELIN_EMU_SEED");
    made->seed = seed != nullptr && *seed != '\0' ? std::strtoull(seed, nullptr, 10) : 1;
    made->progress = progress_from_env();
    faults_from_env(*made);
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

cudaError_t take_last_error() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

namespace {

const char* progress_name(Progress p) {
  switch (p) {
    case Progress::kAsync:
      return "async";
    case Progress::kLazy:
      return "lazy";
    case Progress::kEager:
      return "eager";
  }
  return "async";
}

}  // namespace

cudaError_t fault(cudaError_t code, const std::string& message) {
  Emulator& e = emulator();
  e.last_fault = message;
  std::fprintf(stderr, "emulated device fault (MYELIN_EMU_SEED=%llu MYELIN_EMU_PROGRESS=%s): %s\n",
               static_cast<unsigned long long>(e.seed), progress_name(e.progress), message.c_str());
  return code;
}

cudaError_t driver_check() {
  const int version = emulator().driver_version;
  return version != 0 && version < CUDART_VERSION ? cudaErrorInsufficientDriver : cudaSuccess;
}

bool allocation_fails() {
  std::uint64_t& left = emulator().allocation_fault;
  if (left == 0) return false;
  return --left == 0;
}

const LaunchFault* launch_fails(const std::string& name) {
  static thread_local LaunchFault fired;
  auto& faults = emulator().launch_faults;
  const std::string base = base_name(name);
  for (auto it = faults.begin(); it != faults.end(); ++it) {
    if (it->name != base) continue;
    if (--it->remaining > 0) continue;
    fired = *it;
    faults.erase(it);
    return &fired;
  }
  return nullptr;
}

std::uint64_t progress_draw() {
  Emulator& e = emulator();
  return mix(mix(e.seed ^ 0x70726F6772657373ull) ^ ++e.progress_draws);
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

namespace {

// The allocation of `records` that starts at or before addr and holds [addr, addr + bytes).
template <typename Records>
const Allocation* holding(const Records& records, std::uintptr_t addr, std::size_t bytes) {
  auto it = records.upper_bound(addr);
  while (it != records.begin()) {
    --it;
    if (addr + bytes <= it->first + it->second.bytes) return &it->second;
    if (it->first + kRedzone + it->second.bytes < addr) break;  // no record before reaches it
  }
  return nullptr;
}

}  // namespace

const Allocation* find_allocation(const void* p, std::size_t bytes, bool in_stream_order) {
  const Emulator& e = emulator();
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  auto it = e.allocations.upper_bound(addr);
  if (it != e.allocations.begin()) {
    --it;
    if (addr + bytes <= it->first + it->second.bytes) return &it->second;
  }
  return in_stream_order ? holding(e.freeing, addr, bytes) : nullptr;
}

void forget_allocation(const void* ptr, std::uint64_t id) {
  Emulator& e = emulator();
  auto [first, last] = e.freeing.equal_range(reinterpret_cast<std::uintptr_t>(ptr));
  for (auto it = first; it != last; ++it) {
    if (it->second.id == id) {
      e.freeing.erase(it);
      return;
    }
  }
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

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- errors and versions ------------------------------------------------------------------------

cudaError_t cudaGetLastError() {
  return take_last_error();
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
    case cudaErrorIllegalState:
      return "cudaErrorIllegalState";
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
    case cudaErrorStreamCaptureInvalidated:
      return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureIsolation:
      return "cudaErrorStreamCaptureIsolation";
    case cudaErrorStreamCaptureImplicit:
      return "cudaErrorStreamCaptureImplicit";
    case cudaErrorCapturedEvent:
      return "cudaErrorCapturedEvent";
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
    case cudaErrorIllegalState:
      return "the resource is not in a state that allows the operation";
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
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureIsolation:
      return "dependency created on uncaptured work in another stream";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent:
      return "operation not permitted on an event last recorded in a capturing stream";
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
  ApiLock lock;
  const int emulated = emulator().driver_version;
  *version = emulated != 0 ? emulated : CUDART_VERSION;
  return cudaSuccess;
}

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
  d.not_ready = b.not_ready - a.not_ready;
  d.copies_to_device = b.copies_to_device - a.copies_to_device;
  d.copies_to_host = b.copies_to_host - a.copies_to_host;
  d.graph_launches = b.graph_launches - a.graph_launches;
  d.graph_kernels = b.graph_kernels - a.graph_kernels;
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
  detail::emulator().progress_draws = 0;
  detail::emulator().stalled = 0;
}

std::uint64_t schedule_seed() {
  detail::ApiLock lock;
  return detail::emulator().seed;
}

std::string schedule_description() {
  detail::ApiLock lock;
  const detail::Emulator& e = detail::emulator();
  return "MYELIN_EMU_SEED=" + std::to_string(e.seed) +
         " MYELIN_EMU_PROGRESS=" + detail::progress_name(e.progress);
}

void set_progress(Progress progress) {
  detail::ApiLock lock;
  detail::emulator().progress = progress;
}

Progress progress() {
  detail::ApiLock lock;
  return detail::emulator().progress;
}

void fail_launch(const std::string& name, std::uint64_t nth, bool while_running) {
  detail::ApiLock lock;
  detail::emulator().launch_faults.push_back(
      detail::LaunchFault{detail::base_name(name), nth == 0 ? 1 : nth, while_running});
}

void fail_allocation(std::uint64_t nth) {
  detail::ApiLock lock;
  detail::emulator().allocation_fault = nth == 0 ? 1 : nth;
}

void set_driver_version(int version) {
  detail::ApiLock lock;
  detail::emulator().driver_version = version;
}

std::size_t pending_faults() {
  detail::ApiLock lock;
  const detail::Emulator& e = detail::emulator();
  return e.launch_faults.size() + (e.allocation_fault != 0 ? 1 : 0);
}

void clear_faults() {
  detail::ApiLock lock;
  detail::Emulator& e = detail::emulator();
  e.launch_faults.clear();
  e.allocation_fault = 0;
  e.driver_version = 0;
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
