#pragma once

// The few primitives the scheduler and optimizers need from a backend beyond the op table.
// `device` is the executor's device context (null on the CPU).

#include "myelin/op.hpp"
#include "myelin/tensor.hpp"
#include "ops/update_rules.hpp"

namespace myelin::backend {

// dst += src (same shape, floating type, on the backend's device).
void accumulate(Backend backend, Tensor& dst, const Tensor& src, DeviceContext* device);
// t = 0.
void zero(Backend backend, Tensor& t, DeviceContext* device);
// One optimizer step of one parameter (see ops/update_rules.hpp).
void optimizer_update(Backend backend, const UpdateConstants<double>& k, Tensor& w, const Tensor& g,
                      Tensor* const slots[3], DeviceContext* device);
// sum of squares of t's elements, in double, in a fixed order.
double sum_of_squares(Backend backend, const Tensor& t, DeviceContext* device);
// t *= factor.
void scale(Backend backend, Tensor& t, double factor, DeviceContext* device);
// t = clamp(t, -limit, limit).
void clamp(Backend backend, Tensor& t, double limit, DeviceContext* device);

}  // namespace myelin::backend
