// Losses on CUDA: softmax cross-entropy, binary cross-entropy with logits, mean squared error.
#include "kernels/loss.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"

namespace myelin::cuda {

namespace {

kernels::CrossEntropyArgs cross_entropy_args(const OpContext& ctx, DeviceContext& dc) {
  const Tensor& logits = ctx.input(0);
  const Tensor& labels = ctx.input(1);
  kernels::CrossEntropyArgs a{};
  a.logits = f32(logits);
  a.labels_int64 = labels.dtype() == DType::kInt64;
  a.labels = a.labels_int64 ? static_cast<const void*>(device_ptr<std::int64_t>(labels))
                            : static_cast<const void*>(device_ptr<std::int32_t>(labels));
  a.probs = f32(ctx.saved_tensor(0));
  a.inv_count = f32(ctx.saved_tensor(1));
  a.rows = logits.shape()[0];
  a.classes = logits.shape()[1];
  a.ignore_index = ctx.attrs->get_int("ignore_index");
  a.label_smoothing = static_cast<float>(ctx.attrs->get_float("label_smoothing"));
  a.errors = dc.errors;
  a.node = dc.current_node;
  return a;
}

kernels::BceArgs bce_args(const OpContext& ctx, DeviceContext& dc) {
  kernels::BceArgs a{};
  a.logits = f32(ctx.input(0));
  a.targets = f32(ctx.input(1));
  if (ctx.has_input(2)) {
    const Tensor& m = ctx.input(2);
    a.mask_uint8 = m.dtype() == DType::kUInt8;
    a.mask = a.mask_uint8 ? static_cast<const void*>(device_ptr<std::uint8_t>(m))
                          : static_cast<const void*>(f32(m));
  }
  a.inv_count = f32(ctx.saved_tensor(0));
  a.n = ctx.input(0).numel();
  a.errors = dc.errors;
  a.node = dc.current_node;
  return a;
}

}  // namespace

void softmax_cross_entropy_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  kernels::CrossEntropyArgs a = cross_entropy_args(ctx, dc);
  a.loss = f32(ctx.output(0));
  const launch::Rows rows = launch::rows(a.rows, a.classes);
  const launch::Reduce r = launch::reduce(a.rows);
  double* scratch = scratch_doubles(dc, 2 * a.rows + 2 * r.chunks + 2);
  MYELIN_LAUNCH(
      dc, kernels::launch_cross_entropy_forward(a, rows.warp_per_row, rows.blocks, rows.threads,
                                                r.chunk, r.chunks, scratch, dc.stream));
}

void softmax_cross_entropy_backward(const OpContext& ctx) {
  Tensor* dx = ctx.grad_input(0);
  if (dx == nullptr) return;
  DeviceContext& dc = device_of(ctx);
  const kernels::CrossEntropyArgs a = cross_entropy_args(ctx, dc);
  const launch::Elementwise g = launch::elementwise(a.rows * a.classes, 4, false, dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_cross_entropy_backward(a, f32(ctx.grad_output(0)), f32(*dx),
                                                           g.blocks, dc.stream));
}

void bce_with_logits_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  kernels::BceArgs a = bce_args(ctx, dc);
  a.loss = f32(ctx.output(0));
  const launch::Reduce r = launch::reduce(a.n);
  double* scratch = scratch_doubles(dc, 2 * r.chunks + 2);
  const launch::Elementwise g = launch::elementwise(a.n, 4, false, dc.sm_count);
  MYELIN_LAUNCH(dc,
                kernels::launch_bce_forward(a, g.blocks, r.chunk, r.chunks, scratch, dc.stream));
}

void bce_with_logits_backward(const OpContext& ctx) {
  Tensor* dx = ctx.grad_input(0);
  if (dx == nullptr) return;
  DeviceContext& dc = device_of(ctx);
  const kernels::BceArgs a = bce_args(ctx, dc);
  const launch::Elementwise g = launch::elementwise(a.n, 4, false, dc.sm_count);
  MYELIN_LAUNCH(
      dc, kernels::launch_bce_backward(a, f32(ctx.grad_output(0)), f32(*dx), g.blocks, dc.stream));
}

void mse_loss_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const std::int64_t n = ctx.input(0).numel();
  const launch::Reduce r = launch::reduce(n);
  double* scratch = scratch_doubles(dc, r.chunks + 1);
  MYELIN_LAUNCH(
      dc, kernels::launch_mse_forward(f32(ctx.input(0)), f32(ctx.input(1)), f32(ctx.output(0)), n,
                                      r.chunk, r.chunks, scratch, dc.stream));
}

void mse_loss_backward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const std::int64_t n = ctx.input(0).numel();
  const launch::Elementwise g = launch::elementwise(n, 4, false, dc.sm_count);
  float* da = ctx.grad_input(0) ? f32(*ctx.grad_input(0)) : nullptr;
  float* db = ctx.grad_input(1) ? f32(*ctx.grad_input(1)) : nullptr;
  MYELIN_LAUNCH(
      dc, kernels::launch_mse_backward(f32(ctx.input(0)), f32(ctx.input(1)),
                                       f32(ctx.grad_output(0)), da, db, n, g.blocks, dc.stream));
}

}  // namespace myelin::cuda
