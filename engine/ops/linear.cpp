#include "ops/ops.hpp"

namespace myelin::ops {

namespace {
void infer_linear(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_floating(1);
  ctx.expect_rank(0, 1, Shape::kMaxRank);
  ctx.expect_rank(1, 2, 2);
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  if (x.dim(-1) != w[1]) {
    ctx.fail("in_features differ: ", ctx.describe_input(0), " has ", x.dim(-1), " features but ",
             ctx.describe_input(1), " (stored [out, in]) expects ", w[1]);
  }
  if (ctx.has_input(2)) {
    ctx.expect_floating(2);
    if (ctx.shape(2) != Shape{w[0]}) {
      ctx.fail(ctx.describe_input(2), " must have shape [", w[0], "] to match ",
               ctx.describe_input(1));
    }
  }
  std::vector<std::int64_t> out = x.dims();
  out.back() = w[0];
  ctx.set_output(0, Shape(out), ctx.input(0).dtype);
}
}  // namespace

const OpDef& linear() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "linear";
    d.summary = "y = x W^T + b, W stored [out, in]; leading dims of x are batch; bias optional";
    d.inputs = {{"x"}, {"weight"}, {"bias", true, true}};
    d.infer = infer_linear;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::linear_forward, cpu::linear_backward};
    MYELIN_CUDA_IMPL(d, cuda::linear_forward, cuda::linear_backward, "library:cublasLtMatmul",
                     "library:cublasGemmEx", "bias_add_kernel", "column_partials_kernel",
                     "finish_partials_kernel", "to_float_kernel");
    return d;
  }();
  return op;
}

}  // namespace myelin::ops
