#pragma once

// The CUDA backend: host wrappers that check shapes and types, compute the launch geometry and
// call the kernels of kernels/ on the executor's stream. float32 only.

#include <cstdint>
#include <vector>

#include "backends/cuda/context.hpp"
#include "backends/cuda/op_impls.hpp"
#include "kernels/update_rules.hpp"

namespace myelin::cuda {

// The executor's device context; fails if the op runs without one.
DeviceContext& device_of(const OpContext& ctx);

// Typed device pointers; fail unless the tensor is float32 (or the asked type) on a CUDA device.
float* f32(Tensor& t);
const float* f32(const Tensor& t);
template <typename T>
T* device_ptr(Tensor& t);
template <typename T>
const T* device_ptr(const Tensor& t);

bool aligned16(const void* p);
// `doubles` doubles of the context's scratch memory.
double* scratch_doubles(DeviceContext& dc, std::int64_t doubles, std::int64_t offset = 0);

// Backend primitives of the scheduler and optimizer (see backends/backend.hpp).
void accumulate(DeviceContext& dc, Tensor& dst, const Tensor& src);
void zero(DeviceContext& dc, Tensor& t);
void scale(DeviceContext& dc, Tensor& t, double factor);
void clamp(DeviceContext& dc, Tensor& t, double limit);
double sum_of_squares(DeviceContext& dc, const Tensor& t);
std::vector<double> column_statistics(DeviceContext& dc, const Tensor& x, std::int64_t rows,
                                      double low, double high);

}  // namespace myelin::cuda
