#pragma once

// The emulated device's state, shared by its sources: devices with their memory regions and
// stream-ordered pools, streams of queued operations, events, and the counters.
//
// Device memory of each device is one reserved range of address space, inaccessible (PROT_NONE)
// while host code runs; it is made accessible only while the emulator executes queued work for
// that device (a kernel, a copy, a library routine), so a host dereference of a device pointer
// faults. Every allocation has redzones before and after it: poisoned for AddressSanitizer in
// sanitizer builds, filled with a canary (checked when the allocation is freed) otherwise.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cuda_runtime_api.h"
#include "myelin_emu/device.hpp"
#include "myelin_emu/emulator.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MYELIN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MYELIN_EMU_ASAN 1
#endif
#endif

namespace myelin::emu::detail {

inline constexpr std::size_t kRedzone = 256;  // also the alignment of every allocation
inline constexpr unsigned char kCanary = 0xCB;
inline constexpr unsigned char kFreshByte = 0xFF;  // new device memory: NaN for float and double

void poison(const void* p, std::size_t bytes);
void unpoison(const void* p, std::size_t bytes);

struct StreamState;
using StreamPtr = std::shared_ptr<StreamState>;

// Memory an operation reads or writes, checked again when a graph replays it: it must still lie
// inside one live allocation of the kinds allowed.
struct Range {
  const void* ptr = nullptr;
  std::size_t bytes = 0;  // 0: a pointer into (or one past the end of) an allocation
  bool device = true;     // device memory may hold it
  bool pinned = false;    // pinned host memory may hold it
  std::string role;       // "source", "destination", "pointer argument 2", "operand A"
};

// A unit of work queued on a stream: it runs after the earlier work of its stream and after the
// work it depends on in other streams.
struct Op {
  std::uint64_t seq = 0;
  std::vector<std::pair<StreamPtr, std::uint64_t>> deps;
  std::vector<int> devices;  // whose memory it may touch
  std::function<cudaError_t()> run;
  std::string what;           // "kernel add_one_kernel", "cudaMemcpyAsync device to host"
  std::vector<Range> ranges;  // what a graph replay checks
  // What the op adds to the counters when a graph replays it (its queueing counted them once).
  std::uint64_t launches = 0;
  std::uint64_t bytes_host_to_device = 0, bytes_device_to_host = 0, bytes_device_to_device = 0;
  std::uint64_t copies_to_device = 0, copies_to_host = 0;
};

// The work recorded by a stream capture, in queue order.
struct CaptureState {
  int device = 0;
  std::vector<Op> ops;
  cudaError_t invalidated = cudaSuccess;  // the call that invalidated it
};
using CapturePtr = std::shared_ptr<CaptureState>;

// A captured graph, and an instantiated one: the recorded work.
struct GraphState {
  int device = 0;
  std::vector<Op> ops;
};

struct StreamState {
  int device = 0;
  bool legacy = false;          // the device's legacy default stream
  bool non_blocking = false;    // cudaStreamNonBlocking: no implicit order with the legacy stream
  std::uint64_t enqueued = 0;   // sequence number of the last queued op
  std::uint64_t completed = 0;  // of the last executed op
  std::deque<Op> pending;
  CapturePtr capture;  // set while the stream captures
};

struct EventState {
  int device = 0;
  unsigned flags = 0;
  StreamPtr stream;  // null until recorded
  std::uint64_t seq = 0;
  CapturePtr captured;  // last recorded in this capture (no work to wait for outside it)
};

struct PoolBlock {
  char* ptr = nullptr;
  std::size_t capacity = 0;  // usable bytes
  std::size_t bytes = 0;     // bytes of the current allocation
  bool in_use = false;
  StreamState* free_stream = nullptr;  // where it was freed
  bool free_done = false;              // every free queued for it has executed
  // Frees queued and not yet executed: a block freed, reused in the same stream and freed again
  // has two, and is done (reusable elsewhere, or given back) only when both have run.
  int frees_pending = 0;
};

struct Pool {
  std::uint64_t release_threshold = 0;
  std::size_t reserved = 0, reserved_high = 0, used = 0, used_high = 0;
  std::vector<std::unique_ptr<PoolBlock>> blocks;
};

struct Allocation {
  int device = 0;
  char* ptr = nullptr;
  std::size_t bytes = 0;
  PoolBlock* pool_block = nullptr;  // null for cudaMalloc
  std::uint64_t id = 0;             // distinguishes reuses of one address
};

struct Device {
  int index = 0;
  char* base = nullptr;
  std::size_t capacity = 0;  // reserved address space
  std::size_t limit = 0;     // usable bytes
  std::size_t used = 0;      // bytes taken from the device (allocations with their redzones)
  std::size_t high_water = 0;
  std::map<std::size_t, std::size_t> free_extents;  // offset -> bytes
  std::size_t accessible_extent = 0;                // 0: not accessible
  Pool pool;
  StreamPtr legacy;
  std::vector<std::weak_ptr<StreamState>> streams;
  cudaDeviceProp props{};
  cudaError_t pending_error = cudaSuccess;  // a fault found while executing its work
};

// A launch that fails on demand (myelin::emu::fail_launch).
struct LaunchFault {
  std::string name;
  std::uint64_t remaining = 1;  // launches of `name` until it fires
  bool while_running = false;
};

struct Emulator {
  std::recursive_mutex mutex;
  std::vector<std::unique_ptr<Device>> devices;
  std::map<std::uintptr_t, Allocation> allocations;  // by address
  // Freed with cudaFreeAsync, the free not run yet: work queued before the free may still use
  // them (the address may be allocated again meanwhile, in the same stream); nothing queued
  // after it may.
  std::multimap<std::uintptr_t, Allocation> freeing;
  std::uint64_t allocation_ids = 0;
  std::map<std::uintptr_t, std::size_t> pinned;  // host allocations of cudaMallocHost
  std::map<const void*, StreamPtr> streams;      // live stream handles
  std::map<const void*, std::unique_ptr<EventState>> events;
  std::map<const void*, int> pools;  // pool handle -> device
  std::map<const void*, std::unique_ptr<GraphState>> graphs;
  std::map<const void*, std::unique_ptr<GraphState>> graph_execs;
  std::vector<std::weak_ptr<CaptureState>> captures;  // active captures
  Counters counters;
  std::map<std::string, std::uint64_t> work;  // kernels, library routines and copies, by name
  std::uint64_t seed = 1;
  std::uint64_t launches_run = 0;
  Progress progress = Progress::kAsync;
  std::uint64_t progress_draws = 0;  // draws of the progress schedule since the seed was set
  std::uint64_t stalled = 0;         // calls the device still spends on long-running work
  bool lt_algorithms = true;
  std::string last_fault;
  std::vector<LaunchFault> launch_faults;
  std::uint64_t allocation_fault = 0;  // allocation calls until one fails (0: none)
  int driver_version = 0;              // 0: CUDART_VERSION
};

// The emulator, created on first use. Callers hold its mutex (ApiLock).
Emulator& emulator();

// Held by every API entry point; at the end of the outermost call device memory becomes
// inaccessible again.
class ApiLock {
 public:
  ApiLock();
  ~ApiLock();
  ApiLock(const ApiLock&) = delete;
  ApiLock& operator=(const ApiLock&) = delete;

 private:
  std::unique_lock<std::recursive_mutex> lock_;
};

std::size_t page_size();
std::size_t round_up(std::size_t n, std::size_t to);

// A device with the properties of an H100, its memory reserved as address space, all of it free.
std::unique_ptr<Device> make_device(int index);

// Sets the calling thread's last error (cudaGetLastError) and returns `code`.
cudaError_t set_error(cudaError_t code);
// Reads and clears the calling thread's last error (what a library call does when it checks its
// own launches).
cudaError_t take_last_error();
// Records a fault in device work: the message (with the schedule that reproduces it) goes to
// stderr and last_fault().
cudaError_t fault(cudaError_t code, const std::string& message);
// cudaErrorInsufficientDriver when the emulated driver is older than the runtime.
cudaError_t driver_check();
// Whether this allocation call is the one set to fail (counts it).
bool allocation_fails();
// Whether this launch of `name` (without template arguments) is set to fail: returns the fault,
// or null. Counts the launch.
const LaunchFault* launch_fails(const std::string& name);
// A draw of the progress schedule (seeded, one per decision).
std::uint64_t progress_draw();
// After a call queued work on `device`: in the async mode the device may run some of it (as the
// schedule draws); in the eager mode it runs all of it.
void progress_point(int device);
// A query of work up to `seq` on `stream` that has not completed: completes it or not, as the
// progress mode and the schedule say. Returns whether it is complete now; *error gets the
// first fault of what ran.
bool query_progress(StreamState& stream, std::uint64_t seq, cudaError_t* error);
int current_device();
Device* device_at(int index);

// The stream a handle names (nullptr and cudaStreamLegacy: the current device's legacy stream).
StreamPtr resolve_stream(cudaStream_t stream);
// Queues `op` on the stream, or records it into the stream's capture.
void enqueue(StreamState& stream, Op op);
// A call the global capture mode forbids while any stream captures (it would synchronise with
// or allocate behind the capture): every active capture is invalidated, the fault recorded,
// and cudaErrorStreamCaptureUnsupported returned. cudaSuccess when nothing captures.
cudaError_t forbidden_while_capturing(const char* call);
// Work queued on `stream` while another stream captures: on the legacy stream it would wait for
// a capturing blocking stream, which invalidates that capture (cudaErrorStreamCaptureImplicit).
cudaError_t check_implicit_capture_join(const StreamState& stream, const char* call);
// Invalidates a capture with `code`, recording why.
void invalidate_capture(CaptureState& capture, cudaError_t code, const std::string& why);
// Executes `stream`'s work up to `seq`, and what it depends on. Returns the first fault.
cudaError_t run_until(StreamState& stream, std::uint64_t seq);
cudaError_t run_all(int device);
// Takes the fault found while running a device's work, if any (reported once).
cudaError_t take_pending(int device);
// Waits for `stream`'s work up to `seq` as a synchronising call: counts the wait, trims the
// device's pool, and reports a fault found in the device's work.
cudaError_t synchronize_to(StreamState& stream, std::uint64_t seq);
// After a synchronisation: pools above their release threshold give memory back.
void trim_pools(int device);

// Device memory access while executing work (granted for the listed devices only).
void grant_access(const std::vector<int>& devices);
void revoke_access();

// Takes `bytes` (a multiple of kRedzone) from the device: first fit. Returns null when full.
char* heap_take(Device& d, std::size_t bytes);
void heap_give(Device& d, char* p, std::size_t bytes);
// Bytes a block takes for `bytes` of user data: leading redzone, data, trailing redzone.
std::size_t block_bytes(std::size_t bytes);
// Marks [user, user + bytes) usable and the rest of the block's span [block, block + total)
// as redzone. Runs with the device's memory accessible when canaries are written.
void shape_block(char* block, std::size_t total, char* user, std::size_t bytes, bool fill);
// Whether the redzones around [user, user + bytes) still hold the canary (always true under
// AddressSanitizer, which reports a bad access when it happens).
bool redzones_intact(const char* block, std::size_t total, const char* user, std::size_t bytes);

// The device whose region holds `p`, or -1.
int device_of(const void* p);
// The live allocation holding [p, p + bytes), or null. `in_stream_order`: as work running on the
// device sees it, which includes an allocation whose stream-ordered free has not run yet.
const Allocation* find_allocation(const void* p, std::size_t bytes, bool in_stream_order = false);
// Forgets allocation `id` at `ptr` once its stream-ordered free has run.
void forget_allocation(const void* ptr, std::uint64_t id);
bool is_pinned(const void* p, std::size_t bytes);

// Runs a kernel grid on the calling thread (scheduler.cpp).
cudaError_t run_grid(const LaunchRequest& request, int device, std::uint64_t seed);

std::uint64_t mix(std::uint64_t x);
// Counts queued work under `name` (a kernel's name loses its template arguments).
void count_work(const std::string& name);
// `name` without template arguments.
std::string base_name(const std::string& name);
// Checks that what an op touches is allocated now: at its launch, and again when a graph replays
// it (`node`: its position in the graph). cudaSuccess, or a fault naming the op.
inline constexpr std::size_t kNotAGraphNode = static_cast<std::size_t>(-1);
cudaError_t check_replay(const Op& op, std::size_t node);

}  // namespace myelin::emu::detail
