#include "backends/backend.hpp"

#include "backends/cpu/cpu_ops.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_ops.hpp"
#endif
#include "myelin/error.hpp"

namespace myelin::backend {

namespace {
[[noreturn]] void unsupported(const char* what, Backend backend) {
  fail(what, " is not implemented on the ", backend_name(backend), " backend");
}

#if defined(MYELIN_WITH_CUDA)
DeviceContext& context(DeviceContext* device) {
  if (device == nullptr) fail("CUDA backend: no device context");
  return *device;
}
#endif
}  // namespace

void accumulate(Backend backend, Tensor& dst, const Tensor& src,
                [[maybe_unused]] DeviceContext* device) {
  if (backend == Backend::kCpu) return cpu::accumulate(dst, src);
#if defined(MYELIN_WITH_CUDA)
  return cuda::accumulate(context(device), dst, src);
#else
  unsupported("gradient accumulation", backend);
#endif
}

void zero(Backend backend, Tensor& t, [[maybe_unused]] DeviceContext* device) {
  if (backend == Backend::kCpu) return t.zero();
#if defined(MYELIN_WITH_CUDA)
  return cuda::zero(context(device), t);
#else
  unsupported("zero fill", backend);
#endif
}

void optimizer_update(Backend backend, const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3], DeviceContext* /*device*/) {
  // Device parameters are updated by the fused multi-tensor step (Optimizer::step(Executor&)).
  if (backend != Backend::kCpu) unsupported("a per-tensor optimizer update", backend);
  cpu::optimizer_update(k, w, g, slots);
}

double sum_of_squares(Backend backend, const Tensor& t, [[maybe_unused]] DeviceContext* device) {
  if (backend == Backend::kCpu) return cpu::sum_of_squares(t);
#if defined(MYELIN_WITH_CUDA)
  return cuda::sum_of_squares(context(device), t);
#else
  unsupported("the gradient norm", backend);
#endif
}

void scale(Backend backend, Tensor& t, double factor, [[maybe_unused]] DeviceContext* device) {
  if (backend == Backend::kCpu) return cpu::scale(t, factor);
#if defined(MYELIN_WITH_CUDA)
  return cuda::scale(context(device), t, factor);
#else
  unsupported("scaling", backend);
#endif
}

void clamp(Backend backend, Tensor& t, double limit, [[maybe_unused]] DeviceContext* device) {
  if (backend == Backend::kCpu) return cpu::clamp(t, limit);
#if defined(MYELIN_WITH_CUDA)
  return cuda::clamp(context(device), t, limit);
#else
  unsupported("clamping", backend);
#endif
}

}  // namespace myelin::backend
