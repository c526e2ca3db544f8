// Kernel launches on the emulated runtime: the launch configuration is checked against the
// device's limits and the pointer arguments against live allocations, then the grid is queued on
// its stream (scheduler.cpp runs it). A launch set to fail (fail_launch) fails here or when it
// runs.
#include <string>

#include "internal.hpp"

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
  if (check_implicit_capture_join(*s, "a kernel launch") != cudaSuccess) {
    set_error(cudaErrorStreamCaptureImplicit);
    return;
  }
  const LaunchFault* failing = launch_fails(request.name);
  if (failing != nullptr && !failing->while_running) {
    fault(cudaErrorLaunchOutOfResources,
          std::string("kernel ") + request.name + ": the launch fails (a fault set on demand)");
    set_error(cudaErrorLaunchOutOfResources);
    return;
  }
  Op op;
  op.what = std::string("kernel ") + request.name;
  for (std::size_t k = 0; k < request.pointer_args.size(); ++k) {
    const void* p = request.pointer_args[k];
    // Host memory that is not pinned is refused when the kernel runs (scheduler.cpp).
    if (p == nullptr || (device_of(p) < 0 && !is_pinned(p, 1))) continue;
    op.ranges.push_back(Range{p, 0, true, true, "pointer argument " + std::to_string(k)});
  }
  // A pointer into device or pinned memory that is no longer allocated: the kernel would touch
  // memory that another allocation may hold by the time it runs.
  if (const cudaError_t bad = check_replay(op, kNotAGraphNode)) {
    set_error(bad);
    return;
  }
  Emulator& e = emulator();
  ++e.counters.launches;
  count_work(request.name);
  op.launches = 1;
  op.devices.push_back(s->device);
  const int device = s->device;
  const bool fail_running = failing != nullptr;
  op.run = [request = std::move(request), device, fail_running]() {
    Emulator& em = emulator();
    const std::uint64_t seed = mix(em.seed ^ mix(++em.launches_run));
    if (fail_running) {
      return fault(cudaErrorLaunchFailure, std::string("kernel ") + request.name +
                                               " failed while running (a fault set on demand)");
    }
    return run_grid(request, device, seed);
  };
  enqueue(*s, std::move(op));
}

}  // namespace myelin::emu::detail
