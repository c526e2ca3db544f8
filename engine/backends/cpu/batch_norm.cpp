// batch_norm over [N, C, *] per channel C, as torch.nn.functional.batch_norm: training mode
// normalises with the batch statistics (biased variance) and updates the running statistics
// (unbiased variance); eval mode normalises with the running statistics. The forward pass
// saves the mean and 1/sqrt(var + eps) it used, so one backward serves both modes.
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"

namespace myelin::cpu {

namespace {

struct BnDims {
  std::int64_t n, c, inner;
  std::int64_t count() const { return n * inner; }  // values per channel
};

BnDims bn_dims(const Tensor& x) {
  const Shape& s = x.shape();
  std::int64_t inner = 1;
  for (int a = 2; a < s.rank(); ++a) inner *= s[a];
  return {s[0], s[1], inner};
}

template <typename T>
T weight_or_one(const OpContext& ctx, std::int64_t c) {
  return ctx.has_input(1) ? ctx.input(1).data<T>()[c] : T(1);
}

template <typename T>
void forward(const OpContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const BnDims d = bn_dims(xt);
  const T* x = xt.data<T>();
  T* y = ctx.output(0).data<T>();
  T* mean = ctx.saved_tensor(0).data<T>();
  T* invstd = ctx.saved_tensor(1).data<T>();
  T* running_mean = ctx.state_tensor(0).data<T>();
  T* running_var = ctx.state_tensor(1).data<T>();
  const double eps = ctx.attrs->get_float("eps");

  if (ctx.mode == Mode::kTrain) {
    if (d.count() <= 1) {
      ctx.fail("expected more than 1 value per channel when training, got input shape ",
               xt.shape().str());
    }
    const double m = static_cast<double>(d.count());
    std::vector<double> sums(static_cast<std::size_t>(d.c));
    channel_sums(
        d.n, d.c, d.inner, [&](std::int64_t i) { return static_cast<double>(x[i]); }, sums.data());
    std::vector<double> means(sums.size());
    for (std::size_t c = 0; c < sums.size(); ++c) means[c] = sums[c] / m;
    // Two passes: the variance from squared deviations, not E[x^2] - E[x]^2, which cancels.
    channel_sums(
        d.n, d.c, d.inner,
        [&](std::int64_t i) {
          const double dev = x[i] - means[static_cast<std::size_t>((i / d.inner) % d.c)];
          return dev * dev;
        },
        sums.data());
    const double momentum = ctx.attrs->get_float("momentum");
    for (std::int64_t c = 0; c < d.c; ++c) {
      const auto k = static_cast<std::size_t>(c);
      const double var = sums[k] / m;
      mean[c] = static_cast<T>(means[k]);
      invstd[c] = static_cast<T>(1.0 / std::sqrt(var + eps));
      const auto new_mean =
          static_cast<T>((1.0 - momentum) * running_mean[c] + momentum * means[k]);
      const auto new_var =
          static_cast<T>((1.0 - momentum) * running_var[c] + momentum * var * m / (m - 1.0));
      // A channel whose batch statistics are not finite keeps its running statistics (as the
      // CUDA kernel does): a skipped step leaves them as it leaves the weights.
      if (std::isfinite(new_mean) && std::isfinite(new_var)) {
        running_mean[c] = new_mean;
        running_var[c] = new_var;
      }
    }
    ctx.state_tensor(2).data<std::int64_t>()[0] += 1;
  } else {
    for (std::int64_t c = 0; c < d.c; ++c) {
      mean[c] = running_mean[c];
      invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
    }
  }

  parallel_for(xt.numel(), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t c = (i / d.inner) % d.c;
      const T bias = ctx.has_input(2) ? ctx.input(2).data<T>()[c] : T(0);
      y[i] = (x[i] - mean[c]) * invstd[c] * weight_or_one<T>(ctx, c) + bias;
    }
  });
}

template <typename T>
void backward(const OpContext& ctx) {
  const Tensor& xt = ctx.input(0);
  const BnDims d = bn_dims(xt);
  const T* x = xt.data<T>();
  const T* dy = ctx.grad_output(0).data<T>();
  const T* mean = ctx.saved_tensor(0).data<T>();
  const T* invstd = ctx.saved_tensor(1).data<T>();
  auto channel = [&](std::int64_t i) { return (i / d.inner) % d.c; };

  std::vector<double> sum_dy(static_cast<std::size_t>(d.c));
  std::vector<double> sum_dy_xhat(static_cast<std::size_t>(d.c));
  channel_sums(
      d.n, d.c, d.inner, [&](std::int64_t i) { return static_cast<double>(dy[i]); }, sum_dy.data());
  channel_sums(
      d.n, d.c, d.inner,
      [&](std::int64_t i) {
        const std::int64_t c = channel(i);
        return static_cast<double>(dy[i]) * (static_cast<double>(x[i]) - mean[c]) * invstd[c];
      },
      sum_dy_xhat.data());

  if (ctx.has_input(1) && ctx.grad_input(1) != nullptr) {
    T* dw = ctx.grad_input(1)->data<T>();
    for (std::int64_t c = 0; c < d.c; ++c)
      dw[c] = static_cast<T>(sum_dy_xhat[static_cast<std::size_t>(c)]);
  }
  if (ctx.has_input(2) && ctx.grad_input(2) != nullptr) {
    T* db = ctx.grad_input(2)->data<T>();
    for (std::int64_t c = 0; c < d.c; ++c)
      db[c] = static_cast<T>(sum_dy[static_cast<std::size_t>(c)]);
  }
  Tensor* dx_tensor = ctx.grad_input(0);
  if (dx_tensor == nullptr) return;
  T* dx = dx_tensor->data<T>();
  const bool train = ctx.mode == Mode::kTrain;
  const double m = static_cast<double>(d.count());
  parallel_for(xt.numel(), [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      const std::int64_t c = channel(i);
      const auto k = static_cast<std::size_t>(c);
      const double scale = static_cast<double>(weight_or_one<T>(ctx, c)) * invstd[c];
      if (train) {
        // The batch statistics depend on every x: the mean term and the variance term.
        const double xhat = (static_cast<double>(x[i]) - mean[c]) * invstd[c];
        dx[i] = static_cast<T>(scale * (dy[i] - sum_dy[k] / m - xhat * sum_dy_xhat[k] / m));
      } else {
        dx[i] = static_cast<T>(scale * dy[i]);
      }
    }
  });
}

}  // namespace

void batch_norm_forward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { forward<decltype(tag)>(ctx); });
}

void batch_norm_backward(const OpContext& ctx) {
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) { backward<decltype(tag)>(ctx); });
}

}  // namespace myelin::cpu
