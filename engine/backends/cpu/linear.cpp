// linear: y = x W^T + b with W stored [out, in], as torch.nn.functional.linear. Leading
// dimensions of x are flattened into rows; the GEMMs go through OpenBLAS.
#include <algorithm>
#include <vector>

#include "backends/cpu/blas.hpp"
#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {
struct LinearDims {
  std::int64_t rows, in, out;
};

LinearDims linear_dims(const OpContext& ctx) {
  const Tensor& w = ctx.input(1);
  const std::int64_t in = w.shape()[1];
  return {in == 0 ? 0 : ctx.input(0).numel() / in, in, w.shape()[0]};
}
}  // namespace

void linear_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const LinearDims d = linear_dims(ctx);
    const T* x = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    T* y = ctx.output(0).data<T>();
    const T* b = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
    gemm<T>(false, true, d.rows, d.out, d.in, T(1), x, d.in, w, d.in, T(0), y, d.out, b);
  });
}

void linear_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const LinearDims d = linear_dims(ctx);
    const T* x = ctx.input(0).data<T>();
    const T* w = ctx.input(1).data<T>();
    const T* dy = ctx.grad_output(0).data<T>();
    if (Tensor* dx = ctx.grad_input(0)) {  // dx = dy W
      gemm<T>(false, false, d.rows, d.in, d.out, T(1), dy, d.out, w, d.in, T(0), dx->data<T>(),
              d.in);
    }
    if (Tensor* dw = ctx.grad_input(1)) {  // dW = dy^T x
      gemm<T>(true, false, d.out, d.in, d.rows, T(1), dy, d.out, x, d.in, T(0), dw->data<T>(),
              d.in);
    }
    if (ctx.has_input(2) && ctx.grad_input(2) != nullptr) {  // db = column sums of dy
      std::vector<double> sums(static_cast<std::size_t>(d.out));
      channel_sums(
          d.rows, d.out, 1, [&](std::int64_t i) { return static_cast<double>(dy[i]); },
          sums.data());
      T* db = ctx.grad_input(2)->data<T>();
      for (std::int64_t j = 0; j < d.out; ++j)
        db[j] = static_cast<T>(sums[static_cast<std::size_t>(j)]);
    }
  });
}

}  // namespace myelin::cpu
