#pragma once

// The emulated device's own interface, beyond the CUDA API it stands in for: what tests and
// benchmarks read (counters, the last device fault) and set (the schedule seed, how device work
// progresses, a memory limit, faults on demand).
//
// Counters are defined once here for every user:
//  - launches: kernels and library kernels (cuBLAS, cuBLASLt, Thrust) accepted for execution or
//    recorded into a graph by a capture: what the host launched (a graph's replays do not
//    count them again; graph_kernels does);
//  - graph_launches: cudaGraphLaunch calls; graph_kernels: the kernels those launches ran;
//  - device_allocations: memory newly taken from a device: a pool growing, or cudaMalloc;
//    allocations served from memory a pool already holds are not counted (allocation_calls is);
//  - pool_releases: pool blocks given back to the device (trimming at synchronisations above the
//    pool's release threshold, cudaMemPoolTrimTo);
//  - bytes_*: bytes copied in each direction (memsets are not copies), graph replays included;
//  - blocking_waits: calls in which the host waits for device work: stream, event and device
//    synchronisation, blocking copies (to pageable host memory, or cudaMemcpy from it), cudaFree,
//    cudaFreeHost, and library calls that return a device result to the host;
//  - event_queries: cudaEventQuery and cudaStreamQuery; not_ready: those that answered
//    cudaErrorNotReady;
//  - copies_to_device, copies_to_host: copy operations queued in each direction (host to device,
//    device to host), graph replays included.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace myelin::emu {

struct Counters {
  std::uint64_t launches = 0;
  std::uint64_t device_allocations = 0;
  std::uint64_t allocation_calls = 0;
  std::uint64_t pool_releases = 0;
  std::uint64_t bytes_host_to_device = 0;
  std::uint64_t bytes_device_to_host = 0;
  std::uint64_t bytes_device_to_device = 0;
  std::uint64_t blocking_waits = 0;
  std::uint64_t event_queries = 0;
  std::uint64_t not_ready = 0;
  std::uint64_t copies_to_device = 0;
  std::uint64_t copies_to_host = 0;
  std::uint64_t graph_launches = 0;
  std::uint64_t graph_kernels = 0;
};

Counters counters();
// The difference b - a, field by field.
Counters operator-(const Counters& b, const Counters& a);

// Number of emulated devices (2 unless MYELIN_EMU_DEVICES says otherwise, 1..8).
int device_count();

// Threads of a block run in an order drawn from this seed (MYELIN_EMU_SEED, else 1) and the
// launch's position among the launches executed since the seed was set; so do the blocks of a
// grid, and so does the progress of device work (below). Setting a seed again replays the same
// orders and the same progress for the same sequence of calls.
void set_schedule_seed(std::uint64_t seed);
std::uint64_t schedule_seed();
// "MYELIN_EMU_SEED=7 MYELIN_EMU_PROGRESS=async": the settings that reproduce a run (with the same
// calls); every fault message carries them.
std::string schedule_description();

// How queued device work progresses relative to the host (MYELIN_EMU_PROGRESS=async|lazy|eager).
enum class Progress {
  // The default, as a real device: work completes at times the host cannot predict. After each
  // call that queues work the device may run some of its queued work (none, one operation, a
  // stream's, the whole device's), drawn from the schedule seed, always in stream and event
  // order, and now and then it stalls for 64 to 255 calls (a long kernel), so that the host runs
  // steps ahead; a query of unfinished work completes it or answers cudaErrorNotReady (also
  // recorded as the last error, as the runtime does), again as the seed draws; host reads of
  // pinned memory that no synchronisation orders see whichever state that leaves.
  kAsync,
  // Work runs only when the host waits for it or queries it: a missing synchronisation always
  // reads stale data (for tests that plant one).
  kLazy,
  // Work runs as soon as it is queued: a synchronous device.
  kEager,
};
void set_progress(Progress progress);
Progress progress();

// The emulator's description of the last fault it found in device code (a barrier not reached
// by every thread, a warp collective with a bad mask, a bad pointer), or "".
std::string last_fault();

// Caps the memory of a device at `bytes` (0: the device's full 80 GiB), to provoke out-of-memory.
void set_memory_limit(int device, std::size_t bytes);

// How often each kind of device work was queued: kernels by name (without template
// arguments), library routines (cublasGemmEx, cublasLtMatmul, thrust::count_if), and copies
// (cudaMemcpy, cudaMemcpyAsync).
std::map<std::string, std::uint64_t> work_counts();

// Whether cuBLASLt's heuristic query finds an algorithm (true by default). False makes it report
// none, as a real cuBLASLt does for problems it cannot run, so that callers' fallbacks run.
void set_cublaslt_algorithms(bool available);

// Whether `ptr` points into an emulated device's memory.
bool is_device_pointer(const void* ptr);

// ---- faults on demand ---------------------------------------------------------------------------
// Also from MYELIN_EMU_FAULTS, a comma-separated list read at start-up:
//   launch:NAME[:N[:running]]  the Nth launch (default 1st) of kernel or library routine NAME
//                              fails: at the launch (cudaErrorLaunchOutOfResources from
//                              cudaGetLastError; CUBLAS_STATUS_EXECUTION_FAILED from cuBLAS), or,
//                              with `running`, while it runs (cudaErrorLaunchFailure at the next
//                              synchronisation, and the kernel writes nothing)
//   alloc:N                    the Nth allocation call fails (cudaMalloc, cudaMallocAsync,
//                              cudaMallocHost, cudaHostAlloc): cudaErrorMemoryAllocation
//   driver:VERSION             the driver supports CUDA VERSION (e.g. 12040); below the runtime's
//                              (CUDART_VERSION) every device call fails with
//                              cudaErrorInsufficientDriver, as with an old driver
// Counts start when the fault is set. A fault fires once.
void fail_launch(const std::string& name, std::uint64_t nth = 1, bool while_running = false);
void fail_allocation(std::uint64_t nth = 1);
void set_driver_version(int version);  // 0: the runtime's own version
void clear_faults();
// Launch and allocation faults set that have not fired yet.
std::size_t pending_faults();

}  // namespace myelin::emu
