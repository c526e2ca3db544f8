// Losses with mean reduction, as in torch.nn.functional: softmax cross-entropy over integer
// class labels (fused with a stable log-softmax), binary cross-entropy with logits (optionally
// masked), and mean squared error. Means are ordered sums (same bits for any thread count).
#include <algorithm>
#include <cmath>
#include <limits>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"
#include "ops/activation.hpp"

namespace myelin::cpu {

namespace {

template <typename T>
T& scalar_out(const OpContext& ctx) {
  return ctx.output(0).data<T>()[0];
}

template <typename T>
T scalar_grad(const OpContext& ctx) {
  return ctx.grad_output(0).data<T>()[0];
}

// Reads label r as int64 from an int32 or int64 tensor.
struct Labels {
  const Tensor& t;
  std::int64_t operator()(std::int64_t r) const {
    return t.dtype() == DType::kInt64 ? t.data<std::int64_t>()[r]
                                      : static_cast<std::int64_t>(t.data<std::int32_t>()[r]);
  }
};

// ---- softmax cross-entropy ----------------------------------------------------------------
// saved[0]: softmax probabilities [N, C]; saved[1]: 1 / (number of counted rows), a scalar.

template <typename T>
void ce_forward(const OpContext& ctx) {
  const Tensor& logits = ctx.input(0);
  const std::int64_t n = logits.shape()[0];
  const std::int64_t classes = logits.shape()[1];
  const Labels labels{ctx.input(1)};
  const std::int64_t ignore = ctx.attrs->get_int("ignore_index");
  const double smoothing = ctx.attrs->get_float("label_smoothing");
  std::int64_t counted = 0;
  for (std::int64_t r = 0; r < n; ++r) {  // checked before the parallel part, which cannot throw
    const std::int64_t label = labels(r);
    if (label == ignore) continue;
    if (label < 0 || label >= classes) {
      ctx.fail("label ", label, " at row ", r, " is out of range [0, ", classes, ")");
    }
    ++counted;
  }
  const T* x = logits.data<T>();
  T* prob = ctx.saved_tensor(0).data<T>();
  // Per-row loss in double, then an ordered mean.
  std::vector<double> row_loss(static_cast<std::size_t>(n), 0.0);
  parallel_for(n, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, classes)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const T* xr = x + r * classes;
                   const double max = *std::max_element(xr, xr + classes);
                   double sum = 0.0;
                   for (std::int64_t c = 0; c < classes; ++c) sum += std::exp(xr[c] - max);
                   const double log_sum = std::log(sum);
                   for (std::int64_t c = 0; c < classes; ++c) {
                     prob[r * classes + c] = static_cast<T>(std::exp(xr[c] - max - log_sum));
                   }
                   const std::int64_t label = labels(r);
                   if (label == ignore) continue;
                   const double nll = max + log_sum - xr[label];
                   double loss = (1.0 - smoothing) * nll;
                   if (smoothing > 0.0) {
                     double mean_nll = 0.0;
                     for (std::int64_t c = 0; c < classes; ++c) mean_nll += max + log_sum - xr[c];
                     loss += smoothing * mean_nll / static_cast<double>(classes);
                   }
                   row_loss[static_cast<std::size_t>(r)] = loss;
                 }
               });
  const double total =
      ordered_sum(n, [&](std::int64_t r) { return row_loss[static_cast<std::size_t>(r)]; });
  // All rows ignored: 0 / 0, NaN, as in PyTorch.
  const double inv_count =
      counted > 0 ? 1.0 / static_cast<double>(counted) : std::numeric_limits<double>::quiet_NaN();
  scalar_out<T>(ctx) = static_cast<T>(total * inv_count);
  ctx.saved_tensor(1).data<T>()[0] = static_cast<T>(inv_count);
}

template <typename T>
void ce_backward(const OpContext& ctx) {
  Tensor* dx_tensor = ctx.grad_input(0);
  if (dx_tensor == nullptr) return;
  const Tensor& logits = ctx.input(0);
  const std::int64_t n = logits.shape()[0];
  const std::int64_t classes = logits.shape()[1];
  const Labels labels{ctx.input(1)};
  const std::int64_t ignore = ctx.attrs->get_int("ignore_index");
  const T smoothing = static_cast<T>(ctx.attrs->get_float("label_smoothing"));
  const T* prob = ctx.saved_tensor(0).data<T>();
  const T scale = scalar_grad<T>(ctx) * ctx.saved_tensor(1).data<T>()[0];
  const T uniform = smoothing / static_cast<T>(classes);
  T* dx = dx_tensor->data<T>();
  parallel_for(n, std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, classes)),
               [&](std::int64_t r0, std::int64_t r1) {
                 for (std::int64_t r = r0; r < r1; ++r) {
                   const std::int64_t label = labels(r);
                   for (std::int64_t c = 0; c < classes; ++c) {
                     const std::int64_t i = r * classes + c;
                     if (label == ignore) {
                       dx[i] = T(0);
                       continue;
                     }
                     const T target = (c == label ? T(1) - smoothing : T(0)) + uniform;
                     dx[i] = (prob[i] - target) * scale;
                   }
                 }
               });
}

// ---- binary cross-entropy with logits -----------------------------------------------------
// l = max(x, 0) - x * t + log(1 + exp(-|x|)): stable for any x. saved[0]: 1 / count.

template <typename T>
double mask_at(const OpContext& ctx, std::int64_t i) {
  if (!ctx.has_input(2)) return 1.0;
  const Tensor& m = ctx.input(2);
  return m.dtype() == DType::kUInt8 ? static_cast<double>(m.data<std::uint8_t>()[i])
                                    : static_cast<double>(m.data<T>()[i]);
}

template <typename T>
void bce_forward(const OpContext& ctx) {
  const Tensor& logits = ctx.input(0);
  const std::int64_t n = logits.numel();
  const T* x = logits.data<T>();
  const T* t = ctx.input(1).data<T>();
  double count = static_cast<double>(n);
  if (ctx.has_input(2)) {
    for (std::int64_t i = 0; i < n; ++i) {
      const double m = mask_at<T>(ctx, i);
      if (m != 0.0 && m != 1.0) ctx.fail("mask value ", m, " at element ", i, " is not 0 or 1");
    }
    count = ordered_sum(n, [&](std::int64_t i) { return mask_at<T>(ctx, i); });
  }
  // A masked-out entry is left out, not multiplied by 0: its target may be NaN (a missing label).
  const double total = ordered_sum(n, [&](std::int64_t i) {
    if (mask_at<T>(ctx, i) == 0.0) return 0.0;
    const double xi = x[i];
    return std::max(xi, 0.0) - xi * t[i] + std::log1p(std::exp(-std::abs(xi)));
  });
  // No observed entry: the loss and its gradient are 0 rather than 0/0, so that a batch where a
  // task has no labels does not poison training.
  const double inv_count = count > 0.0 ? 1.0 / count : 0.0;
  scalar_out<T>(ctx) = static_cast<T>(total * inv_count);
  ctx.saved_tensor(0).data<T>()[0] = static_cast<T>(inv_count);
}

template <typename T>
void bce_backward(const OpContext& ctx) {
  Tensor* dx_tensor = ctx.grad_input(0);
  if (dx_tensor == nullptr) return;
  const std::int64_t n = ctx.input(0).numel();
  const T* x = ctx.input(0).data<T>();
  const T* t = ctx.input(1).data<T>();
  const T scale = scalar_grad<T>(ctx) * ctx.saved_tensor(0).data<T>()[0];
  T* dx = dx_tensor->data<T>();
  parallel_for(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      dx[i] = mask_at<T>(ctx, i) == 0.0 ? T(0) : (stable_sigmoid(x[i]) - t[i]) * scale;
    }
  });
}

// ---- mean squared error -------------------------------------------------------------------

template <typename T>
void mse_forward(const OpContext& ctx) {
  const std::int64_t n = ctx.input(0).numel();
  const T* a = ctx.input(0).data<T>();
  const T* b = ctx.input(1).data<T>();
  const double total = ordered_sum(n, [&](std::int64_t i) {
    const double d = static_cast<double>(a[i]) - b[i];
    return d * d;
  });
  // Mean of no elements: NaN, as in PyTorch.
  scalar_out<T>(ctx) = static_cast<T>(n > 0 ? total / static_cast<double>(n)
                                            : std::numeric_limits<double>::quiet_NaN());
}

template <typename T>
void mse_backward(const OpContext& ctx) {
  const std::int64_t n = ctx.input(0).numel();
  const T* a = ctx.input(0).data<T>();
  const T* b = ctx.input(1).data<T>();
  const T scale = scalar_grad<T>(ctx) * T(2) / static_cast<T>(std::max<std::int64_t>(n, 1));
  T* da = ctx.grad_input(0) ? ctx.grad_input(0)->data<T>() : nullptr;
  T* db = ctx.grad_input(1) ? ctx.grad_input(1)->data<T>() : nullptr;
  parallel_for(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const T g = (a[i] - b[i]) * scale;
      if (da) da[i] = g;
      if (db) db[i] = -g;
    }
  });
}

}  // namespace

void softmax_cross_entropy_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { ce_forward<decltype(tag)>(ctx); });
}
void softmax_cross_entropy_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { ce_backward<decltype(tag)>(ctx); });
}
void bce_with_logits_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { bce_forward<decltype(tag)>(ctx); });
}
void bce_with_logits_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { bce_backward<decltype(tag)>(ctx); });
}
void mse_loss_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { mse_forward<decltype(tag)>(ctx); });
}
void mse_loss_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { mse_backward<decltype(tag)>(ctx); });
}

}  // namespace myelin::cpu
