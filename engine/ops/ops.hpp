#pragma once

// The built-in ops. Each family file defines its ops' schema and shape inference and wires
// their backend implementations; op_table.cpp lists them.

#include "myelin/op.hpp"
#include "ops/activation.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_ops.hpp"
// Wires an op's CUDA implementation and names the kernels it launches.
#define MYELIN_CUDA_IMPL(def, forward, backward, ...)                        \
  do {                                                                       \
    (def).impls[static_cast<int>(Backend::kCuda)] = {(forward), (backward)}; \
    (def).cuda_kernels = {__VA_ARGS__};                                      \
  } while (0)
// A CUDA function where the backend is built, nothing otherwise.
#define MYELIN_IF_CUDA(fn) (fn)
#else
#define MYELIN_IF_CUDA(fn) KernelFn()
#define MYELIN_CUDA_IMPL(def, forward, backward, ...) \
  do {                                                \
  } while (0)
#endif

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
