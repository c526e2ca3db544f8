#include "ops/ops.hpp"

namespace myelin::ops {

namespace {
void infer_dropout(InferCtx& ctx) {
  infer_same_as_input(ctx);
  ctx.add_saved(ctx.shape(0), DType::kUInt8);  // the mask
}
}  // namespace

const OpDef& dropout() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "dropout";
    d.summary =
        "training: zero each element with probability p (default 0.5), scale the rest by "
        "1/(1-p); eval: identity. Mask = f(seed, node, step, index)";
    d.inputs = {{"x"}};
    d.attrs = {AttrSpec{"p", 0.5, "probability of zeroing an element"}.at_least(0.0).below(1.0)};
    d.infer = infer_dropout;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::dropout_forward, cpu::dropout_backward};
    MYELIN_CUDA_IMPL(d, cuda::dropout_forward, cuda::dropout_backward, "dropout_forward_kernel",
                     "dropout_backward_kernel");
    return d;
  }();
  return op;
}

}  // namespace myelin::ops
