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

void sgd_update(Backend backend, Tensor& param, const Tensor& grad, double lr, void* /*stream*/) {
  if (backend != Backend::kCpu) unsupported("the SGD update", backend);
  cpu::sgd_update(param, grad, lr);
}

}  // namespace myelin::backend
