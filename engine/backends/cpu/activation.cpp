// Elementwise activations: one loop per direction, the scalar math in activation_math.hpp.
// Each kind gets its own instantiation of the loop, so the switch over kinds is taken once per
// call, not per element, and simple kinds (ReLU and the like) compile to branch-free vector code.
#include "ops/activation.hpp"
#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {

template <Activation kKind, typename T>
void forward_loop(const T* x, T* y, std::int64_t n, const ActivationParams& p) {
  parallel_for(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) y[i] = myelin::activation_forward(kKind, x[i], p);
  });
}

// dx may be dy (in-place backward), so neither is __restrict__.
template <Activation kKind, typename T>
void backward_loop(const T* x, const T* y, const T* dy, T* dx, std::int64_t n,
                   const ActivationParams& p) {
  parallel_for(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      dx[i] = myelin::activation_backward(kKind, x[i], y[i], dy[i], p);
    }
  });
}

}  // namespace

KernelFn activation_forward(Activation kind) {
  return [kind](const OpContext& ctx) {
    const ActivationParams p = activation_params(kind, *ctx.attrs);
    dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.input(0).data<T>();
      T* y = ctx.output(0).data<T>();
      const std::int64_t n = ctx.input(0).numel();
      switch (kind) {
#define MYELIN_FORWARD_CASE(k)               \
  case Activation::k:                        \
    forward_loop<Activation::k>(x, y, n, p); \
    break;
        MYELIN_ACTIVATIONS(MYELIN_FORWARD_CASE)
#undef MYELIN_FORWARD_CASE
      }
    });
  };
}

KernelFn activation_backward(Activation kind) {
  return [kind](const OpContext& ctx) {
    Tensor* dx_tensor = ctx.grad_input(0);
    if (dx_tensor == nullptr) return;
    const ActivationParams p = activation_params(kind, *ctx.attrs);
    dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.input(0).data<T>();
      const T* y = ctx.output(0).data<T>();
      const T* dy = ctx.grad_output(0).data<T>();
      T* dx = dx_tensor->data<T>();
      const std::int64_t n = ctx.input(0).numel();
      switch (kind) {
#define MYELIN_BACKWARD_CASE(k)                       \
  case Activation::k:                                 \
    backward_loop<Activation::k>(x, y, dy, dx, n, p); \
    break;
        MYELIN_ACTIVATIONS(MYELIN_BACKWARD_CASE)
#undef MYELIN_BACKWARD_CASE
      }
    });
  };
}

}  // namespace myelin::cpu
