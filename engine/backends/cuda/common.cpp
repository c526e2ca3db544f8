#include <cstdint>

#include "backends/cuda/cuda_ops.hpp"

namespace myelin::cuda {

DeviceContext& device_of(const OpContext& ctx) {
  if (ctx.device == nullptr) ctx.fail("the CUDA implementation ran without a device context");
  return *ctx.device;
}

namespace {
void* checked(const Tensor& t, DType want) {
  if (!t.defined()) fail("CUDA backend: undefined tensor");
  if (t.dtype() != want) {
    fail("CUDA backend: tensor ", t.str(), " must be ", dtype_name(want),
         " (the CUDA path computes "
         "in float32)");
  }
  if (!t.device().is_cuda()) fail("CUDA backend: tensor ", t.str(), " is not in device memory");
  return const_cast<void*>(t.raw());
}
}  // namespace

float* f32(Tensor& t) {
  return static_cast<float*>(checked(t, DType::kFloat32));
}
const float* f32(const Tensor& t) {
  return static_cast<const float*>(checked(t, DType::kFloat32));
}

template <typename T>
T* device_ptr(Tensor& t) {
  return static_cast<T*>(checked(t, kDTypeOf<T>));
}
template <typename T>
const T* device_ptr(const Tensor& t) {
  return static_cast<const T*>(checked(t, kDTypeOf<T>));
}
template float* device_ptr<float>(Tensor&);
template const float* device_ptr<float>(const Tensor&);
template std::int64_t* device_ptr<std::int64_t>(Tensor&);
template const std::int64_t* device_ptr<std::int64_t>(const Tensor&);
template const std::int32_t* device_ptr<std::int32_t>(const Tensor&);
template std::uint8_t* device_ptr<std::uint8_t>(Tensor&);
template const std::uint8_t* device_ptr<std::uint8_t>(const Tensor&);

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

double* scratch_doubles(DeviceContext& dc, std::int64_t doubles, std::int64_t offset) {
  const auto total = static_cast<std::size_t>(offset + doubles) * sizeof(double);
  return static_cast<double*>(dc.scratch(total)) + offset;
}

}  // namespace myelin::cuda
