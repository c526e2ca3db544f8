// add, reshape/flatten (a device copy), and the backend primitives of the scheduler and
// optimizer on CUDA.
#include "kernels/elementwise.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/launch_geometry.hpp"

namespace myelin::cuda {

namespace {
void copy_device(DeviceContext& dc, Tensor& dst, const Tensor& src) {
  MYELIN_CUDA_CHECK(
      cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToDevice, dc.stream));
}
}  // namespace

void add_forward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  const float* a = f32(ctx.input(0));
  const float* b = f32(ctx.input(1));
  float* y = f32(ctx.output(0));
  const std::int64_t n = ctx.output(0).numel();
  const launch::Elementwise g =
      launch::elementwise(n, 4, aligned16(a) && aligned16(b) && aligned16(y), dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_add(a, b, y, n, g.vector_width == 4, g.blocks, dc.stream));
}

void add_backward(const OpContext& ctx) {
  DeviceContext& dc = device_of(ctx);
  for (int k = 0; k < 2; ++k) {
    if (Tensor* d = ctx.grad_input(k)) copy_device(dc, *d, ctx.grad_output(0));
  }
}

void copy_forward(const OpContext& ctx) {
  copy_device(device_of(ctx), ctx.output(0), ctx.input(0));
}

void copy_backward(const OpContext& ctx) {
  if (Tensor* d = ctx.grad_input(0)) copy_device(device_of(ctx), *d, ctx.grad_output(0));
}

// The primitives make the context's device current themselves: clipping and the L2 penalty call
// them from outside the executor.
void accumulate(DeviceContext& dc, Tensor& dst, const Tensor& src) {
  DeviceGuard guard(dc.device);
  float* d = f32(dst);
  const float* s = f32(src);
  const std::int64_t n = dst.numel();
  const launch::Elementwise g =
      launch::elementwise(n, 4, aligned16(d) && aligned16(s), dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_accumulate(d, s, n, g.vector_width == 4, g.blocks, dc.stream));
}

void zero(DeviceContext& dc, Tensor& t) {
  DeviceGuard guard(dc.device);
  MYELIN_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), dc.stream));
}

void scale(DeviceContext& dc, Tensor& t, double factor) {
  DeviceGuard guard(dc.device);
  const launch::Elementwise g = launch::elementwise(t.numel(), 4, false, dc.sm_count);
  MYELIN_LAUNCH(dc, kernels::launch_scale(f32(t), static_cast<float>(factor), t.numel(), g.blocks,
                                          dc.stream));
}

void clamp(DeviceContext& dc, Tensor& t, double limit) {
  DeviceGuard guard(dc.device);
  const launch::Elementwise g = launch::elementwise(t.numel(), 4, false, dc.sm_count);
  MYELIN_LAUNCH(
      dc, kernels::launch_clamp(f32(t), static_cast<float>(limit), t.numel(), g.blocks, dc.stream));
}

double sum_of_squares(DeviceContext& dc, const Tensor& t) {
  DeviceGuard guard(dc.device);
  const launch::Reduce r = launch::reduce(t.numel());
  double* partials = scratch_doubles(dc, r.chunks + 1);
  double* out = partials + r.chunks;
  MYELIN_LAUNCH(dc, kernels::launch_sum_of_squares(f32(t), t.numel(), r.chunk, r.chunks, partials,
                                                   out, dc.stream));
  double host = 0.0;
  // To pageable memory: returns once the copy (and the stream's work before it) is done.
  MYELIN_CUDA_CHECK(cudaMemcpyAsync(&host, out, sizeof(double), cudaMemcpyDeviceToHost, dc.stream));
  return host;
}

}  // namespace myelin::cuda
