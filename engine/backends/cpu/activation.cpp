// Elementwise activations: one loop per direction, the scalar math in activation_math.hpp.
#include "ops/activation.hpp"
#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

KernelFn activation_forward(Activation kind) {
  return [kind](const OpContext& ctx) {
    const ActivationParams p = activation_params(kind, *ctx.attrs);
    dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
      using T = decltype(tag);
      const T* x = ctx.input(0).data<T>();
      T* y = ctx.output(0).data<T>();
      parallel_for(ctx.input(0).numel(), [&](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = myelin::activation_forward(kind, x[i], p);
      });
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
      parallel_for(ctx.input(0).numel(), [&](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) {
          dx[i] = myelin::activation_backward(kind, x[i], y[i], dy[i], p);
        }
      });
    });
  };
}

}  // namespace myelin::cpu
