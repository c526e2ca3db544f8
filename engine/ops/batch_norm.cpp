#include "ops/ops.hpp"

namespace myelin::ops {

namespace {
void infer_batch_norm(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_rank(0, 2, Shape::kMaxRank);
  const Shape& x = ctx.shape(0);
  const DType t = ctx.input(0).dtype;
  const Shape per_channel{x[1]};
  for (int i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    if (ctx.shape(i) != per_channel || ctx.input(i).dtype != t) {
      ctx.fail(ctx.describe_input(i), " must be ", per_channel.str(), " ", dtype_name(t),
               " (one per channel of ", ctx.describe_input(0), ")");
    }
  }
  const char* state_names[] = {"running_mean", "running_var"};
  for (int s = 0; s < 2; ++s) {
    const TensorMeta& m = ctx.state[static_cast<std::size_t>(s)];
    if (m.shape != per_channel || m.dtype != t) {
      ctx.fail("state '", state_names[s], "' is ", m.shape.str(), " ", dtype_name(m.dtype),
               ", expected ", per_channel.str(), " ", dtype_name(t));
    }
  }
  const TensorMeta& count = ctx.state[2];
  if (count.shape != Shape{} || count.dtype != DType::kInt64) {
    ctx.fail("state 'num_batches_tracked' must be an int64 scalar, got ", count.shape.str(), " ",
             dtype_name(count.dtype));
  }
  ctx.set_output(0, x, t);
  ctx.add_saved(per_channel, t);  // mean used
  ctx.add_saved(per_channel, t);  // 1 / sqrt(var + eps) used
}
}  // namespace

const OpDef& batch_norm() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "batch_norm";
    d.summary =
        "per channel (dim 1) of [N, C, *]: batch statistics in training (running stats updated "
        "with momentum 0.1, unbiased variance), running statistics in eval; eps 1e-5";
    d.inputs = {{"x"}, {"weight", true, true}, {"bias", true, true}};
    d.attrs = {AttrSpec{"momentum", 0.1, "weight of the batch in the running statistics"}
                   .at_least(0.0)
                   .at_most(1.0),
               AttrSpec{"eps", 1e-5, "added to the variance"}.above(0.0)};
    d.state = {"running_mean", "running_var", "num_batches_tracked"};
    d.infer = infer_batch_norm;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::batch_norm_forward, cpu::batch_norm_backward};
    MYELIN_CUDA_IMPL(d, cuda::batch_norm_forward, cuda::batch_norm_backward,
                     "column_partials_kernel", "channel_partials_kernel", "finish_partials_kernel",
                     "finish_train_kernel", "finish_eval_kernel", "normalize_kernel",
                     "finish_param_grads_kernel", "input_grad_kernel");
    return d;
  }();
  return op;
}

}  // namespace myelin::ops
