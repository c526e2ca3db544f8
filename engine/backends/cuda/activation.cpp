#include "kernels/activation.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"

namespace myelin::cuda {

KernelFn activation_forward(Activation kind) {
  return [kind](const OpContext& ctx) {
    DeviceContext& dc = device_of(ctx);
    const float* x = f32(ctx.input(0));
    float* y = f32(ctx.output(0));
    const std::int64_t n = ctx.input(0).numel();
    const launch::Elementwise g =
        launch::elementwise(n, 4, aligned16(x) && aligned16(y), dc.sm_count);
    MYELIN_LAUNCH(
        dc, kernels::launch_activation_forward(kind, activation_params(kind, *ctx.attrs), x, y, n,
                                               g.vector_width == 4, g.blocks, dc.stream));
  };
}

KernelFn activation_backward(Activation kind) {
  return [kind](const OpContext& ctx) {
    Tensor* dx_tensor = ctx.grad_input(0);
    if (dx_tensor == nullptr) return;
    DeviceContext& dc = device_of(ctx);
    const float* x = f32(ctx.input(0));
    const float* y = f32(ctx.output(0));
    const float* dy = f32(ctx.grad_output(0));
    float* dx = f32(*dx_tensor);
    const std::int64_t n = ctx.input(0).numel();
    const bool vec = aligned16(x) && aligned16(y) && aligned16(dy) && aligned16(dx);
    const launch::Elementwise g = launch::elementwise(n, 4, vec, dc.sm_count);
    MYELIN_LAUNCH(
        dc, kernels::launch_activation_backward(kind, activation_params(kind, *ctx.attrs), x, y, dy,
                                                dx, n, g.vector_width == 4, g.blocks, dc.stream));
  };
}

}  // namespace myelin::cuda
