#include "kernels/batch_norm.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"

namespace myelin::cuda {

namespace {

kernels::BatchNormShape shape_of(const Tensor& x) {
  const Shape& s = x.shape();
  std::int64_t inner = 1;
  for (int a = 2; a < s.rank(); ++a) inner *= s[a];
  const launch::ChannelReduce r = launch::channel_reduce(s[0], s[1], inner);
  return {s[0], s[1], inner, r.columns, r.chunk, r.chunks};
}

const float* optional_f32(const OpContext& ctx, int i) {
  return ctx.has_input(i) ? f32(ctx.input(i)) : nullptr;
}

}  // namespace

void batch_norm_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const Tensor& x = ctx.input(0);
  const kernels::BatchNormShape s = shape_of(x);
  const bool train = ctx.mode == Mode::kTrain;
  if (train && s.outer * s.inner <= 1) {
    ctx.fail("expected more than 1 value per channel when training, got input shape ",
             x.shape().str());
  }
  double* scratch = scratch_doubles(dc, s.chunks * s.channels + 2 * s.channels);
  const launch::Elementwise g = launch::elementwise(x.numel(), 4, false, dc.sm_count);
  MYELIN_LAUNCH(
      dc,
      kernels::launch_batch_norm_forward(
          s, train, f32(x), optional_f32(ctx, 1), optional_f32(ctx, 2), f32(ctx.state_tensor(0)),
          f32(ctx.state_tensor(1)), device_ptr<std::int64_t>(ctx.state_tensor(2)),
          static_cast<float>(ctx.attrs->get_float("momentum")),
          static_cast<float>(ctx.attrs->get_float("eps")), f32(ctx.saved_tensor(0)),
          f32(ctx.saved_tensor(1)), f32(ctx.output(0)), scratch, g.blocks, dc.stream));
}

void batch_norm_backward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const Tensor& x = ctx.input(0);
  const kernels::BatchNormShape s = shape_of(x);
  double* scratch = scratch_doubles(dc, s.chunks * s.channels + 2 * s.channels);
  const launch::Elementwise g = launch::elementwise(x.numel(), 4, false, dc.sm_count);
  float* dx = ctx.grad_input(0) ? f32(*ctx.grad_input(0)) : nullptr;
  float* dw = ctx.has_input(1) && ctx.grad_input(1) ? f32(*ctx.grad_input(1)) : nullptr;
  float* db = ctx.has_input(2) && ctx.grad_input(2) ? f32(*ctx.grad_input(2)) : nullptr;
  MYELIN_LAUNCH(dc, kernels::launch_batch_norm_backward(
                        s, ctx.mode == Mode::kTrain, f32(x), f32(ctx.grad_output(0)),
                        optional_f32(ctx, 1), f32(ctx.saved_tensor(0)), f32(ctx.saved_tensor(1)),
                        dx, dw, db, scratch, g.blocks, dc.stream));
}

}  // namespace myelin::cuda
