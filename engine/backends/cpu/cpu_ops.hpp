#pragma once

// The CPU reference path: forward and backward of every op, in float and double.

#include "kernels/update_rules.hpp"
#include "myelin/op.hpp"
#include "ops/activation.hpp"

namespace myelin::cpu {

// Calls fn(T{}) with T = float or double for the tensor type, fails on any other.
template <typename Fn>
void dispatch_floating(DType dtype, const OpContext& ctx, Fn&& fn) {
  switch (dtype) {
    case DType::kFloat32:
      fn(float{});
      return;
    case DType::kFloat64:
      fn(double{});
      return;
    default:
      ctx.fail("the CPU path computes in float32 or float64, not ", dtype_name(dtype));
  }
}

void linear_forward(const OpContext& ctx);
void linear_backward(const OpContext& ctx);

KernelFn activation_forward(Activation kind);
KernelFn activation_backward(Activation kind);

void softmax_forward(const OpContext& ctx);
void softmax_backward(const OpContext& ctx);
void log_softmax_forward(const OpContext& ctx);
void log_softmax_backward(const OpContext& ctx);

void batch_norm_forward(const OpContext& ctx);
void batch_norm_backward(const OpContext& ctx);

void dropout_forward(const OpContext& ctx);
void dropout_backward(const OpContext& ctx);

void add_forward(const OpContext& ctx);
void add_backward(const OpContext& ctx);
// reshape and flatten: the data is unchanged, only the shape differs.
void copy_forward(const OpContext& ctx);
void copy_backward(const OpContext& ctx);

void softmax_cross_entropy_forward(const OpContext& ctx);
void softmax_cross_entropy_backward(const OpContext& ctx);
void bce_with_logits_forward(const OpContext& ctx);
void bce_with_logits_backward(const OpContext& ctx);
void mse_loss_forward(const OpContext& ctx);
void mse_loss_backward(const OpContext& ctx);

// dst += src (same shape and type): the scheduler's gradient accumulation.
void accumulate(Tensor& dst, const Tensor& src);
// sum of squares in double, ordered (same bits for any thread count).
double sum_of_squares(const Tensor& t);
void scale(Tensor& t, double factor);
void clamp(Tensor& t, double limit);
// One optimizer step of one parameter; slots[i] is null where the rule keeps no slot i.
void optimizer_update(const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3]);

}  // namespace myelin::cpu
