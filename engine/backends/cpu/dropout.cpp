// dropout with inverted scaling. Element i is kept when word i % 4 of Philox block i / 4 of
// stream (node id) at the given step is at or above the integer threshold for p: a pure
// function of (seed, node, step, i), so a rerun reproduces the mask and the CUDA path can
// produce the same one bit for bit.
#include <cstring>

#include "backends/cpu/cpu_ops.hpp"
#include "backends/cpu/parallel.hpp"
#include "myelin/philox.hpp"

namespace myelin::cpu {

namespace {

void fill_mask(const OpContext& ctx, double p, std::uint8_t* mask, std::int64_t n) {
  if (p >= 1.0) {
    std::memset(mask, 0, static_cast<std::size_t>(n));
    return;
  }
  const std::uint32_t threshold = dropout_threshold(p);
  const std::int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, kParallelGrain / 4, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {
      const PhiloxWords words =
          philox_block(ctx.seed, ctx.node_id, ctx.step, static_cast<std::uint64_t>(b));
      for (int k = 0; k < 4 && b * 4 + k < n; ++k) {
        mask[b * 4 + k] = words.w[k] >= threshold ? 1 : 0;
      }
    }
  });
}

template <typename T>
void apply_mask(const T* in, const std::uint8_t* mask, T scale, T* out, std::int64_t n) {
  parallel_for(n, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) out[i] = mask[i] ? in[i] * scale : T(0);
  });
}

template <typename T>
T keep_scale(double p) {
  return p >= 1.0 ? T(0) : static_cast<T>(1.0 / (1.0 - p));
}

}  // namespace

void dropout_forward(const OpContext& ctx) {
  const double p = ctx.attrs->get_float("p");
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const Tensor& x = ctx.input(0);
    if (ctx.mode == Mode::kEval || p == 0.0) {
      std::memcpy(ctx.output(0).raw(), x.raw(), x.nbytes());
      return;
    }
    std::uint8_t* mask = ctx.saved_tensor(0).data<std::uint8_t>();
    fill_mask(ctx, p, mask, x.numel());
    apply_mask(x.data<T>(), mask, keep_scale<T>(p), ctx.output(0).data<T>(), x.numel());
  });
}

void dropout_backward(const OpContext& ctx) {
  Tensor* dx = ctx.grad_input(0);
  if (dx == nullptr) return;
  const double p = ctx.attrs->get_float("p");
  dispatch_floating(ctx.input(0).dtype(), ctx, [&](auto tag) {
    using T = decltype(tag);
    const Tensor& dy = ctx.grad_output(0);
    if (ctx.mode == Mode::kEval || p == 0.0) {
      std::memcpy(dx->raw(), dy.raw(), dy.nbytes());
      return;
    }
    apply_mask(dy.data<T>(), ctx.saved_tensor(0).data<std::uint8_t>(), keep_scale<T>(p),
               dx->data<T>(), dy.numel());
  });
}

}  // namespace myelin::cpu
