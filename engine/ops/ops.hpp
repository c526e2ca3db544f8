#pragma once

// The built-in ops. Each family file defines its ops' schema and shape inference and wires
// their backend implementations; op_table.cpp lists them.

#include "backends/op_impls.hpp"
#include "myelin/op.hpp"
#include "ops/activation.hpp"

namespace myelin::ops {

const OpDef& linear();
const OpDef& activation(Activation kind);
const OpDef& softmax();
const OpDef& log_softmax();
const OpDef& batch_norm();
const OpDef& dropout();
const OpDef& add();
const OpDef& reshape();
const OpDef& flatten();
const OpDef& softmax_cross_entropy();
const OpDef& bce_with_logits();
const OpDef& mse_loss();

// Shared inference: output = input 0's shape and type (elementwise ops).
void infer_same_as_input(InferCtx& ctx);

}  // namespace myelin::ops
