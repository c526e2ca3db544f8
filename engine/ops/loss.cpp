#include "ops/ops.hpp"

namespace myelin::ops {

namespace {

void infer_cross_entropy(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_rank(0, 2, 2);
  ctx.expect_integer_labels(1);
  const Shape& logits = ctx.shape(0);
  if (ctx.shape(1) != Shape{logits[0]}) {
    ctx.fail(ctx.describe_input(1), " must have shape [", logits[0], "]: one label per row of ",
             ctx.describe_input(0));
  }
  const DType t = ctx.input(0).dtype;
  ctx.set_output(0, Shape{}, t);
  ctx.add_saved(logits, t);   // softmax probabilities
  ctx.add_saved(Shape{}, t);  // 1 / number of counted rows
}

void infer_bce(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_floating(1);
  ctx.expect_same_shape(0, 1);
  const DType t = ctx.input(0).dtype;
  if (ctx.has_input(2)) {
    ctx.expect_same_shape(0, 2);
    const DType m = ctx.input(2).dtype;
    if (m != t && m != DType::kUInt8) {
      ctx.fail(ctx.describe_input(2), " must be uint8 or ", dtype_name(t), " holding 0 or 1");
    }
  }
  ctx.set_output(0, Shape{}, t);
  ctx.add_saved(Shape{}, t);  // 1 / number of observed entries
}

void infer_mse(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_floating(1);
  ctx.expect_same_shape(0, 1);
  ctx.set_output(0, Shape{}, ctx.input(0).dtype);
}

}  // namespace

const OpDef& softmax_cross_entropy() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "softmax_cross_entropy";
    d.summary =
        "mean over rows of -log softmax(logits)[label]; logits [N, C], integer labels [N]; "
        "ignore_index -100, label_smoothing 0";
    d.inputs = {{"logits"}, {"labels", false}};
    d.attrs = {{"ignore_index", std::int64_t{-100}, "rows with this label are not counted"},
               AttrSpec{"label_smoothing", 0.0, "weight of the uniform distribution in the target"}
                   .at_least(0.0)
                   .at_most(1.0)};
    d.infer = infer_cross_entropy;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::softmax_cross_entropy_forward,
                                                cpu::softmax_cross_entropy_backward};
    MYELIN_CUDA_IMPL(d, cuda::softmax_cross_entropy_forward, cuda::softmax_cross_entropy_backward,
                     "cross_entropy_warp_kernel", "cross_entropy_block_kernel",
                     "flat_partials_kernel", "finish_partials_kernel",
                     "cross_entropy_finish_kernel", "cross_entropy_backward_kernel");
    return d;
  }();
  return op;
}

const OpDef& bce_with_logits() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "bce_with_logits";
    d.summary =
        "mean of max(x,0) - x t + log(1 + exp(-|x|)); with a 0/1 mask, the sum over observed "
        "entries / their number (0 when none)";
    d.inputs = {{"logits"}, {"targets", false}, {"mask", false, true}};
    d.infer = infer_bce;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::bce_with_logits_forward,
                                                cpu::bce_with_logits_backward};
    MYELIN_CUDA_IMPL(d, cuda::bce_with_logits_forward, cuda::bce_with_logits_backward,
                     "flat_partials_kernel", "finish_partials_kernel", "bce_finish_kernel",
                     "bce_backward_kernel");
    return d;
  }();
  return op;
}

const OpDef& mse_loss() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "mse_loss";
    d.summary = "mean over all elements of (input - target)^2";
    d.inputs = {{"input"}, {"target"}};
    d.infer = infer_mse;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::mse_loss_forward, cpu::mse_loss_backward};
    MYELIN_CUDA_IMPL(d, cuda::mse_loss_forward, cuda::mse_loss_backward, "flat_partials_kernel",
                     "finish_partials_kernel", "to_float_kernel", "mse_backward_kernel");
    return d;
  }();
  return op;
}

}  // namespace myelin::ops
