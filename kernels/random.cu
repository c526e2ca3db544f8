// Philox uniform fill.
//
// Work mapping: one thread per Philox block (four consecutive elements), over a grid-stride
// loop, so that each 10-round evaluation feeds four outputs and neighbouring threads write
// neighbouring 16-byte groups (coalesced). The grid is capped at a few waves of blocks per SM;
// the stride loop covers any n.
#include "launch.cuh"
#include "myelin/philox.hpp"
#include "random.hpp"

namespace myelin::kernels {

namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 4096;

__global__ void philox_uniform_kernel(float* __restrict__ out, std::int64_t n, std::uint64_t seed,
                                      std::uint32_t stream_id, std::uint64_t step) {
  const std::int64_t groups = (n + 3) / 4;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t g = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       g < groups; g += stride) {
    const PhiloxWords words = philox_block(seed, stream_id, step, static_cast<std::uint64_t>(g));
    const std::int64_t base = g * 4;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      if (base + k < n) out[base + k] = uniform_float(words.w[k]);
    }
  }
}

}  // namespace

void launch_philox_uniform(float* out, std::int64_t n, std::uint64_t seed, std::uint32_t stream_id,
                           std::uint64_t step, cudaStream_t stream) {
  if (n <= 0) return;
  const std::int64_t groups = (n + 3) / 4;
  std::int64_t blocks = (groups + kThreads - 1) / kThreads;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  MYELIN_LAUNCH_KERNEL(philox_uniform_kernel, static_cast<unsigned>(blocks), kThreads, 0, stream,
                       out, n, seed, stream_id, step);
}

}  // namespace myelin::kernels
