#include "kernels/softmax.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"

namespace myelin::cuda {

namespace {

void forward(const OpContext& ctx, bool log) {
  DeviceContext& dc = device_of(ctx);
  const Tensor& x = ctx.input(0);
  const std::int64_t cols = x.shape().dim(-1);
  const std::int64_t rows = cols == 0 ? 0 : x.numel() / cols;
  const launch::Rows g = launch::rows(rows, cols);
  MYELIN_LAUNCH(dc,
                kernels::launch_softmax_forward(log, f32(x), f32(ctx.output(0)), rows, cols,
                                                g.warp_per_row, g.blocks, g.threads, dc.stream));
}

void backward(const OpContext& ctx, bool log) {
  Tensor* dx = ctx.grad_input(0);
  if (dx == nullptr) return;
  DeviceContext& dc = device_of(ctx);
  const Tensor& y = ctx.output(0);
  const std::int64_t cols = y.shape().dim(-1);
  const std::int64_t rows = cols == 0 ? 0 : y.numel() / cols;
  const launch::Rows g = launch::rows(rows, cols);
  MYELIN_LAUNCH(
      dc, kernels::launch_softmax_backward(log, f32(y), f32(ctx.grad_output(0)), f32(*dx), rows,
                                           cols, g.warp_per_row, g.blocks, g.threads, dc.stream));
}

}  // namespace

void softmax_forward(const OpContext& ctx) {
  forward(ctx, false);
}
void softmax_backward(const OpContext& ctx) {
  backward(ctx, false);
}
void log_softmax_forward(const OpContext& ctx) {
  forward(ctx, true);
}
void log_softmax_backward(const OpContext& ctx) {
  backward(ctx, true);
}

}  // namespace myelin::cuda
