#include "kernels/dropout.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"
#include "myelin/philox.hpp"

namespace myelin::cuda {

namespace {
float keep_scale(double p) {
  return p >= 1.0 ? 0.0f : static_cast<float>(1.0 / (1.0 - p));
}
}  // namespace

void dropout_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const double p = ctx.attrs->get_float("p");
  const Tensor& x = ctx.input(0);
  if (ctx.mode == Mode::kEval || p == 0.0) {
    MYELIN_CUDA_CHECK(cudaMemcpyAsync(ctx.output(0).raw(), x.raw(), x.nbytes(),
                                      cudaMemcpyDeviceToDevice, dc.stream));
    return;
  }
  const bool drop_all = p >= 1.0;  // as the CPU path: every mask bit 0
  const std::uint32_t threshold = drop_all ? 0xffffffffu : dropout_threshold(p);
  // Groups of four elements per thread.
  const launch::Elementwise g = launch::elementwise((x.numel() + 3) / 4, 4, false, dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_dropout_forward(
                        f32(x), f32(ctx.output(0)), device_ptr<std::uint8_t>(ctx.saved_tensor(0)),
                        x.numel(), ctx.seed, ctx.node_id, dc.step, threshold, drop_all,
                        keep_scale(p), g.blocks, dc.stream));
}

void dropout_backward(const OpContext& ctx) {
  Tensor* dx = ctx.grad_input(0);
  if (dx == nullptr) return;
  DeviceContext& dc = device_of(ctx);
  const double p = ctx.attrs->get_float("p");
  const Tensor& dy = ctx.grad_output(0);
  if (ctx.mode == Mode::kEval || p == 0.0) {
    MYELIN_CUDA_CHECK(
        cudaMemcpyAsync(dx->raw(), dy.raw(), dy.nbytes(), cudaMemcpyDeviceToDevice, dc.stream));
    return;
  }
  const launch::Elementwise g = launch::elementwise(dy.numel(), 4, false, dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_dropout_backward(
                        f32(dy), device_ptr<std::uint8_t>(ctx.saved_tensor(0)), f32(*dx),
                        dy.numel(), keep_scale(p), g.blocks, dc.stream));
}

}  // namespace myelin::cuda
