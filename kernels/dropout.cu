// Dropout with the shared Philox generator.
//
// Work mapping (forward): one thread per Philox block of four elements over a grid-stride loop:
// one 10-round evaluation yields the four words that decide four neighbouring elements, the same
// (seed, node, step, index) layout the CPU path uses, with an integer threshold compare, so the
// masks are bit-identical to the CPU's. The step is read from device memory (a captured CUDA
// Graph replays with the current step). Backward: one thread per element.
#include "common.cuh"
#include "dropout.hpp"
#include "myelin/philox.hpp"

namespace myelin::kernels {

namespace {

__global__ void dropout_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       std::uint8_t* __restrict__ mask, std::int64_t n,
                                       std::uint64_t seed, std::uint32_t stream_id,
                                       const std::uint64_t* __restrict__ step,
                                       std::uint32_t threshold, bool drop_all, float scale) {
  const std::uint64_t s = *step;
  const std::int64_t groups = (n + 3) / 4;
  for (std::int64_t g = global_thread(); g < groups; g += grid_stride()) {
    const PhiloxWords w = philox_block(seed, stream_id, s, static_cast<std::uint64_t>(g));
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const std::int64_t i = g * 4 + k;
      if (i < n) {
        const bool keep = !drop_all && w.w[k] >= threshold;
        mask[i] = keep ? 1 : 0;
        y[i] = keep ? x[i] * scale : 0.0f;
      }
    }
  }
}

__global__ void dropout_backward_kernel(const float* __restrict__ dy,
                                        const std::uint8_t* __restrict__ mask,
                                        float* __restrict__ dx, std::int64_t n, float scale) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    dx[i] = mask[i] ? dy[i] * scale : 0.0f;
  }
}

}  // namespace

cudaError_t launch_dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n,
                                   std::uint64_t seed, std::uint32_t stream_id,
                                   const std::uint64_t* step, std::uint32_t threshold,
                                   bool drop_all, float scale, int blocks, cudaStream_t stream) {
  if (n > 0) {
    MYELIN_LAUNCH_KERNEL(dropout_forward_kernel, blocks, 256, 0, stream, x, y, mask, n, seed,
                         stream_id, step, threshold, drop_all, scale);
  }
  return cudaGetLastError();
}

cudaError_t launch_dropout_backward(const float* dy, const std::uint8_t* mask, float* dx,
                                    std::int64_t n, float scale, int blocks, cudaStream_t stream) {
  if (n > 0)
    MYELIN_LAUNCH_KERNEL(dropout_backward_kernel, blocks, 256, 0, stream, dy, mask, dx, n, scale);
  return cudaGetLastError();
}

}  // namespace myelin::kernels
