#include "kernels/metrics.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/cuda/cuda_runtime.hpp"
#include "backends/cuda/stream.hpp"
#include "memory.hpp"

namespace myelin::cuda {

std::int64_t count_correct(const Tensor& logits, const Tensor& labels) {
  const Device device = logits.device();
  DeviceGuard guard(device.index);
  const Tensor device_labels = labels.to(device);
  const Tensor device_logits = logits.to(DType::kFloat32);
  // On the logits' stream: after the work that made them (an executor's, usually).
  const std::shared_ptr<Stream>& stream = device_logits.storage()->stream;
  use_on(*device_labels.storage(), stream);
  cudaError_t status = cudaSuccess;
  const std::int64_t n = kernels::count_correct(
      f32(device_logits), device_labels.raw(), device_labels.dtype() == DType::kInt64,
      logits.shape()[0], logits.shape()[1], stream->get(), &status);
  MYELIN_CUDA_CHECK(status);
  return n;
}

}  // namespace myelin::cuda
