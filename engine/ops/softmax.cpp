#include "ops/ops.hpp"

namespace myelin::ops {

namespace {
void infer_softmax(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_rank(0, 1, Shape::kMaxRank);
  ctx.set_output(0, ctx.shape(0), ctx.input(0).dtype);
}

OpDef make(const char* name, const char* summary, KernelFn forward, KernelFn backward,
           [[maybe_unused]] KernelFn cuda_forward, [[maybe_unused]] KernelFn cuda_backward) {
  OpDef d;
  d.name = name;
  d.summary = summary;
  d.inputs = {{"x"}};
  d.infer = infer_softmax;
  d.impls[static_cast<int>(Backend::kCpu)] = {std::move(forward), std::move(backward)};
  MYELIN_CUDA_IMPL(d, std::move(cuda_forward), std::move(cuda_backward),
                   "softmax_warp_forward_kernel", "softmax_block_forward_kernel",
                   "softmax_warp_backward_kernel", "softmax_block_backward_kernel");
  return d;
}
}  // namespace

const OpDef& softmax() {
  static const OpDef op =
      make("softmax", "softmax over the last axis, max-subtracted", cpu::softmax_forward,
           cpu::softmax_backward, MYELIN_IF_CUDA(cuda::softmax_forward),
           MYELIN_IF_CUDA(cuda::softmax_backward));
  return op;
}

const OpDef& log_softmax() {
  static const OpDef op =
      make("log_softmax", "log of softmax over the last axis, max-subtracted",
           cpu::log_softmax_forward, cpu::log_softmax_backward,
           MYELIN_IF_CUDA(cuda::log_softmax_forward), MYELIN_IF_CUDA(cuda::log_softmax_backward));
  return op;
}

}  // namespace myelin::ops
