// Kernel launches on the emulated runtime: the launch configuration is checked against the
// device's limits, then the grid is queued on its stream (scheduler.cpp runs it).
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
  Emulator& e = emulator();
  ++e.counters.launches;
  count_work(request.name);
  Op op;
  op.launches = 1;
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
