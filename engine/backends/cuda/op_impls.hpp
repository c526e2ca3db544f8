#pragma once

// The CUDA implementations of the built-in ops (defined in backends/cuda/<family>.cpp), as the op
// schema files wire them. No CUDA header: the schema files include this.

#include "myelin/op.hpp"
#include "ops/activation.hpp"

namespace myelin::cuda {

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
void copy_forward(const OpContext& ctx);
void copy_backward(const OpContext& ctx);

void softmax_cross_entropy_forward(const OpContext& ctx);
void softmax_cross_entropy_backward(const OpContext& ctx);
void bce_with_logits_forward(const OpContext& ctx);
void bce_with_logits_backward(const OpContext& ctx);
void mse_loss_forward(const OpContext& ctx);
void mse_loss_backward(const OpContext& ctx);

}  // namespace myelin::cuda
