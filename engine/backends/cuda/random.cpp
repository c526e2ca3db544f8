#include "backends/cuda/random.hpp"

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/cuda_runtime.hpp"
#include "kernels/random.hpp"

namespace myelin::cuda {

Tensor philox_uniform(Device device, std::int64_t n, std::uint64_t seed, std::uint32_t stream_id,
                      std::uint64_t step) {
  if (!device.is_cuda()) fail("philox_uniform: ", device.str(), " is not a CUDA device");
  Tensor out = Tensor::empty(Shape{n}, DType::kFloat32, device);
  int previous = 0;
  MYELIN_CUDA_CHECK(cudaGetDevice(&previous));
  MYELIN_CUDA_CHECK(cudaSetDevice(device.index));
  kernels::launch_philox_uniform(static_cast<float*>(out.raw()), n, seed, stream_id, step, nullptr);
  const cudaError_t launch = cudaGetLastError();
  const cudaError_t done = cudaStreamSynchronize(nullptr);
  cudaSetDevice(previous);
  MYELIN_CUDA_CHECK(launch);
  MYELIN_CUDA_CHECK(done);
  return out;
}

}  // namespace myelin::cuda
