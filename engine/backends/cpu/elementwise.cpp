// add, the data-preserving shape ops, and the scheduler's and optimizer's elementwise helpers.
#include <cstring>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {
void copy_tensor(Tensor& dst, const Tensor& src) {
  std::memcpy(dst.raw(), src.raw(), src.nbytes());
}
}  // namespace

void add_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const T* a = ctx.input(0).data<T>();
    const T* b = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    parallel_for(ctx.input(0).numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) y[i] = a[i] + b[i];
    });
  });
}

void add_backward(const OpContext& ctx) {
  for (int k = 0; k < 2; ++k) {
    if (Tensor* d = ctx.grad_input(k)) copy_tensor(*d, ctx.grad_output(0));
  }
}

void copy_forward(const OpContext& ctx) {
  copy_tensor(ctx.output(0), ctx.input(0));
}

void copy_backward(const OpContext& ctx) {
  if (Tensor* d = ctx.grad_input(0)) copy_tensor(*d, ctx.grad_output(0));
}

void accumulate(Tensor& dst, const Tensor& src) {
  const auto apply = [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    parallel_for(dst.numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) d[i] += s[i];
    });
  };
  if (dst.dtype() == DType::kFloat64) {
    apply(double{});
  } else {
    apply(float{});
  }
}

void sgd_update(Tensor& param, const Tensor& grad, double lr) {
  const auto apply = [&](auto tag) {
    using T = decltype(tag);
    T* w = param.data<T>();
    const T* g = grad.data<T>();
    const T step = static_cast<T>(lr);
    parallel_for(param.numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) w[i] -= step * g[i];
    });
  };
  if (param.dtype() == DType::kFloat64) {
    apply(double{});
  } else {
    apply(float{});
  }
}

}  // namespace myelin::cpu
