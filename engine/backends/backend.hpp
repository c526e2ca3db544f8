#pragma once

// The few primitives the scheduler and optimizers need from a backend beyond the op table.

#include "myelin/op.hpp"
#include "myelin/tensor.hpp"

namespace myelin::backend {

// dst += src (same shape, floating type, on the backend's device).
void accumulate(Backend backend, Tensor& dst, const Tensor& src, void* stream);
// t = 0.
void zero(Backend backend, Tensor& t, void* stream);
// param -= lr * grad.
void sgd_update(Backend backend, Tensor& param, const Tensor& grad, double lr, void* stream);

}  // namespace myelin::backend
