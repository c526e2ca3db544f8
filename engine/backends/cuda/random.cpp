#include "backends/cuda/random.hpp"

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/cuda_runtime.hpp"
#include "backends/cuda/stream.hpp"
#include "kernels/random.hpp"
#include "memory.hpp"

namespace myelin::cuda {

Tensor philox_uniform(Device device, std::int64_t n, std::uint64_t seed, std::uint32_t stream_id,
                      std::uint64_t step) {
  if (!device.is_cuda()) fail("philox_uniform: ", device.str(), " is not a CUDA device");
  Tensor out = Tensor::empty(Shape{n}, DType::kFloat32, device);
  DeviceGuard guard(device.index);
  // On the stream the tensor was allocated on, then waited for.
  const cudaStream_t stream = out.storage()->stream->get();
  kernels::launch_philox_uniform(static_cast<float*>(out.raw()), n, seed, stream_id, step, stream);
  MYELIN_CUDA_CHECK(cudaGetLastError());
  MYELIN_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

}  // namespace myelin::cuda
