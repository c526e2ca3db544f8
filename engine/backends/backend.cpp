#include "backends/backend.hpp"

#include "backends/cpu/cpu_ops.hpp"
#include "myelin/error.hpp"

namespace myelin::backend {

namespace {
[[noreturn]] void unsupported(const char* what, Backend backend) {
  fail(what, " is not implemented on the ", backend_name(backend), " backend");
}
}  // namespace

void accumulate(Backend backend, Tensor& dst, const Tensor& src, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("gradient accumulation", backend);
  cpu::accumulate(dst, src);
}

void zero(Backend backend, Tensor& t, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("zero fill", backend);
  t.zero();
}

void optimizer_update(Backend backend, const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3], void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("the optimizer update", backend);
  cpu::optimizer_update(k, w, g, slots);
}

double sum_of_squares(Backend backend, const Tensor& t, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("the gradient norm", backend);
  return cpu::sum_of_squares(t);
}

void scale(Backend backend, Tensor& t, double factor, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("scaling", backend);
  cpu::scale(t, factor);
}

void clamp(Backend backend, Tensor& t, double limit, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("clamping", backend);
  cpu::clamp(t, limit);
}

}  // namespace myelin::backend
