// add, the data-preserving shape ops, and the scheduler's and optimizer's elementwise helpers.
#include <cstring>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {
void copy_tensor(Tensor& dst, const Tensor& src) {
  std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

template <typename Fn>
void on_floating(const Tensor& t, Fn&& fn) {
  if (t.dtype() == DType::kFloat64) {
    fn(double{});
  } else if (t.dtype() == DType::kFloat32) {
    fn(float{});
  } else {
    fail("expected a floating-point tensor, got ", t.str());
  }
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
  on_floating(dst, [&](auto tag) {
    using T = decltype(tag);
    T* d = dst.data<T>();
    const T* s = src.data<T>();
    parallel_for(dst.numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) d[i] += s[i];
    });
  });
}

double sum_of_squares(const Tensor& t) {
  double total = 0.0;
  on_floating(t, [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    total = ordered_sum(t.numel(), [&](std::int64_t i) {
      const double v = p[i];
      return v * v;
    });
  });
  return total;
}

void scale(Tensor& t, double factor) {
  on_floating(t, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const T f = static_cast<T>(factor);
    parallel_for(t.numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) p[i] *= f;
    });
  });
}

void clamp(Tensor& t, double limit) {
  on_floating(t, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    const T hi = static_cast<T>(limit);
    parallel_for(t.numel(), [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) p[i] = p[i] > hi ? hi : (p[i] < -hi ? -hi : p[i]);
    });
  });
}

}  // namespace myelin::cpu
