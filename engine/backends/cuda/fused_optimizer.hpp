#pragma once

// The fused optimizer step on CUDA: one launch for the global gradient norm and clip scale,
// one launch updating every parameter.

#include "myelin/executor.hpp"
#include "myelin/optimizer.hpp"

namespace myelin::cuda {

void fused_step(Optimizer& optimizer, Executor& executor, const GradientClipping& clipping);
// The norm measured by the last fused step (waits for the device).
double fused_last_norm(const Optimizer& optimizer);
// Where that norm lives in device memory (a double), for asynchronous readback.
const double* fused_norm_device(const Optimizer& optimizer);

}  // namespace myelin::cuda
