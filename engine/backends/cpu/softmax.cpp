// softmax and log_softmax over the last axis. Each row subtracts its maximum before
// exponentiating, so logits of +-1e4 neither overflow nor lose the distribution; row sums are
// accumulated in double.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {

struct RowDims {
  std::int64_t rows, cols;
};

RowDims row_dims(const Tensor& t) {
  const std::int64_t cols = t.shape().rank() == 0 ? 1 : t.shape().dim(-1);
  return {cols == 0 ? 0 : t.numel() / cols, cols};
}

std::int64_t row_grain(std::int64_t cols) {
  return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, cols));
}

template <typename T, bool kLog>
void forward_rows(const OpContext& ctx) {
  const RowDims d = row_dims(ctx.input(0));
  const T* x = ctx.input(0).data<T>();
  T* y = ctx.output(0).data<T>();
  parallel_for(d.rows, row_grain(d.cols), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * d.cols;
      T* yr = y + r * d.cols;
      const T max = *std::max_element(xr, xr + d.cols);
      double sum = 0.0;
      for (std::int64_t j = 0; j < d.cols; ++j) sum += std::exp(static_cast<double>(xr[j] - max));
      if (kLog) {
        const T log_sum = static_cast<T>(std::log(sum));
        for (std::int64_t j = 0; j < d.cols; ++j) yr[j] = xr[j] - max - log_sum;
      } else {
        const double inv = 1.0 / sum;
        for (std::int64_t j = 0; j < d.cols; ++j) {
          yr[j] = static_cast<T>(std::exp(static_cast<double>(xr[j] - max)) * inv);
        }
      }
    }
  });
}

template <typename T, bool kLog>
void backward_rows(const OpContext& ctx) {
  Tensor* dx_tensor = ctx.grad_input(0);
  if (dx_tensor == nullptr) return;
  const RowDims d = row_dims(ctx.input(0));
  const T* y = ctx.output(0).data<T>();
  const T* dy = ctx.grad_output(0).data<T>();
  T* dx = dx_tensor->data<T>();
  parallel_for(d.rows, row_grain(d.cols), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const std::int64_t base = r * d.cols;
      double dot = 0.0;
      if (kLog) {  // dx = dy - softmax * sum(dy)
        for (std::int64_t j = 0; j < d.cols; ++j) dot += dy[base + j];
        for (std::int64_t j = 0; j < d.cols; ++j) {
          dx[base + j] =
              static_cast<T>(dy[base + j] - std::exp(static_cast<double>(y[base + j])) * dot);
        }
      } else {  // dx = y * (dy - sum(dy * y))
        for (std::int64_t j = 0; j < d.cols; ++j)
          dot += static_cast<double>(dy[base + j]) * y[base + j];
        for (std::int64_t j = 0; j < d.cols; ++j) {
          dx[base + j] = static_cast<T>(y[base + j] * (dy[base + j] - dot));
        }
      }
    }
  });
}

}  // namespace

void softmax_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx,
                    [&](auto tag) { forward_rows<decltype(tag), false>(ctx); });
}
void softmax_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx,
                    [&](auto tag) { backward_rows<decltype(tag), false>(ctx); });
}
void log_softmax_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx,
                    [&](auto tag) { forward_rows<decltype(tag), true>(ctx); });
}
void log_softmax_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx,
                    [&](auto tag) { backward_rows<decltype(tag), true>(ctx); });
}

}  // namespace myelin::cpu
