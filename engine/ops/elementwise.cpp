// add, and the shape ops that keep the data: reshape and flatten.
#include "ops/ops.hpp"

namespace myelin::ops {

namespace {

void infer_add(InferCtx& ctx) {
  ctx.expect_floating(0);
  ctx.expect_floating(1);
  ctx.expect_same_shape(0, 1);
  ctx.set_output(0, ctx.shape(0), ctx.input(0).dtype);
}

void infer_reshape(InferCtx& ctx) {
  ctx.expect_floating(0);
  const Shape& x = ctx.shape(0);
  std::vector<std::int64_t> dims = ctx.attrs->get_ints("shape");
  if (dims.size() > static_cast<std::size_t>(Shape::kMaxRank)) {
    ctx.fail("target shape has ", dims.size(), " dimensions; at most ", Shape::kMaxRank);
  }
  int inferred = -1;
  std::int64_t known = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == -1) {
      if (inferred >= 0) ctx.fail("target shape has more than one -1");
      inferred = static_cast<int>(i);
    } else if (dims[i] < 0) {
      ctx.fail("target shape has a negative dimension ", dims[i]);
    } else {
      known *= dims[i];
    }
  }
  if (inferred >= 0) {
    if (known == 0 || x.numel() % known != 0) {
      ctx.fail("cannot reshape ", ctx.describe_input(0), " (", x.numel(),
               " elements) to a shape with ", known, " elements per -1");
    }
    dims[static_cast<std::size_t>(inferred)] = x.numel() / known;
  }
  const Shape out(dims);
  if (out.numel() != x.numel()) {
    ctx.fail("cannot reshape ", ctx.describe_input(0), " (", x.numel(), " elements) to ", out.str(),
             " (", out.numel(), " elements)");
  }
  ctx.set_output(0, out, ctx.input(0).dtype);
}

void infer_flatten(InferCtx& ctx) {
  ctx.expect_floating(0);
  const Shape& x = ctx.shape(0);
  std::int64_t start = ctx.attrs->get_int("start_dim");
  if (start < 0) start += x.rank();
  if (start < 0 || start >= std::max(1, x.rank())) {
    ctx.fail("start_dim ", ctx.attrs->get_int("start_dim"), " is out of range for ",
             ctx.describe_input(0));
  }
  std::vector<std::int64_t> dims;
  std::int64_t tail = 1;
  for (int a = 0; a < x.rank(); ++a) {
    if (a < start) {
      dims.push_back(x[a]);
    } else {
      tail *= x[a];
    }
  }
  dims.push_back(tail);
  ctx.set_output(0, Shape(dims), ctx.input(0).dtype);
}

}  // namespace

const OpDef& add() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "add";
    d.summary = "y = a + b, same shapes (residual connections)";
    d.inputs = {{"a"}, {"b"}};
    d.infer = infer_add;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::add_forward, cpu::add_backward};
    MYELIN_CUDA_IMPL(d, cuda::add_forward, cuda::add_backward, "add_kernel",
                     "library:cudaMemcpyAsync");
    return d;
  }();
  return op;
}

const OpDef& reshape() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "reshape";
    d.summary = "same data, new shape; one dimension may be -1 (inferred)";
    d.inputs = {{"x"}};
    d.attrs = {{"shape", std::vector<std::int64_t>{}, "the new shape; one dimension may be -1"}};
    d.infer = infer_reshape;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::copy_forward, cpu::copy_backward};
    // The data does not change: a device-to-device copy, no kernel of ours.
    MYELIN_CUDA_IMPL(d, cuda::copy_forward, cuda::copy_backward, "library:cudaMemcpyAsync");
    return d;
  }();
  return op;
}

const OpDef& flatten() {
  static const OpDef op = [] {
    OpDef d;
    d.name = "flatten";
    d.summary = "merges dims from start_dim (default 1, as nn.Flatten) to the last";
    d.inputs = {{"x"}};
    d.attrs = {{"start_dim", std::int64_t{1}, "first dimension folded into the last"}};
    d.infer = infer_flatten;
    d.impls[static_cast<int>(Backend::kCpu)] = {cpu::copy_forward, cpu::copy_backward};
    // The data does not change: a device-to-device copy, no kernel of ours.
    MYELIN_CUDA_IMPL(d, cuda::copy_forward, cuda::copy_backward, "library:cudaMemcpyAsync");
    return d;
  }();
  return op;
}

}  // namespace myelin::ops
