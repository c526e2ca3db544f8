#include "kernels/metrics.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/cuda/cuda_runtime.hpp"

namespace myelin::cuda {

std::int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const Device device = logits.device();
  DeviceGuard guard(device.index);
  const Tensor device_labels = labels.to(device);
  const Tensor device_logits = logits.to(DType::kFloat32);
  cudaError_t status = cudaSuccess;
  // The legacy stream: ordered after the work of every executor stream that made the logits.
  const std::int64_t n = kernels::count_correct(
      f32(device_logits), device_labels.raw(), device_labels.dtype() == DType::kInt64,
      logits.shape()[0], logits.shape()[1], nullptr, &status);
  MYELIN_CUDA_CHECK(status);
  return n;
}

}  // namespace myelin::cuda
