// Test-only kernels of the emulated device's tests: correct references and planted bugs.
//
// Work mapping: as each kernel says; all are small (one to a few blocks) so that the tests can
// run them under many schedule seeds.
#include "emulator/tests/test_kernels.hpp"
#include "kernels/launch.cuh"

namespace myelin::kernels::emulator_test {

namespace {

constexpr int kThreads = 256;

// One block per 256 elements: warps sum their lanes with shuffles, lane 0 of each warp writes
// its warp's total to shared memory, then warp 0 adds the totals.
template <bool kBarrier>
__global__ void block_sum_kernel(const float* in, float* out) {
  MYELIN_SHARED(float[8], totals);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float v = in[blockIdx.x * kThreads + threadIdx.x];
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if (lane == 0) totals[warp] = v;
  if (kBarrier) __syncthreads();
  if (warp == 0) {
    float t = lane < 8 ? totals[lane] : 0.0f;
    for (int offset = 16; offset > 0; offset /= 2) t += __shfl_xor_sync(0xffffffffu, t, offset);
    if (lane == 0) out[blockIdx.x] = t;
  }
}

__global__ void partial_mask_kernel(const float* in, float* out) {
  float v = in[threadIdx.x];
  // Planted: 0xffff names lanes 0-15 only, but every lane of the warp runs this.
  for (int offset = 8; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffu, v, offset);
  out[threadIdx.x] = v;
}

__global__ void scale_off_by_one_kernel(const float* x, float* y, std::int64_t n) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  // Planted: `<=` writes one element past the end.
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i <= n;
       i += stride) {
    y[i] = 2.0f * (i < n ? x[i] : 0.0f);
  }
}

__global__ void read_unwritten_shared_kernel(float* out) {
  MYELIN_SHARED(float[64], slots);
  slots[threadIdx.x] = static_cast<float>(threadIdx.x);
  __syncthreads();
  // Planted: slot threadIdx.x + 32 was never written (only 32 threads run).
  out[threadIdx.x] = slots[threadIdx.x] + slots[threadIdx.x + 32];
}

__global__ void fill_iota_kernel(float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = static_cast<float>(i + 1);
}

__global__ void add_one_kernel(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = in[i] + 1.0f;
}

__global__ void log_order_kernel(int* counter, int* log) {
  const int slot = atomicAdd(counter, 1);
  log[slot] = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
}

__global__ void warp_collectives_kernel(const int* in, int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  const int v = in[lane];
  const unsigned full = 0xffffffffu;
  out[0 * 32 + lane] = __shfl_sync(full, v, 5);
  out[1 * 32 + lane] = __shfl_up_sync(full, v, 3);
  out[2 * 32 + lane] = __shfl_down_sync(full, v, 3);
  out[3 * 32 + lane] = __shfl_xor_sync(full, v, 7);
  out[4 * 32 + lane] = static_cast<int>(__ballot_sync(full, v % 3 == 0));
  out[5 * 32 + lane] = __any_sync(full, v == 40);
  out[6 * 32 + lane] = __all_sync(full, v >= 0);
  out[7 * 32 + lane] = __reduce_add_sync(full, v);
  out[8 * 32 + lane] = __shfl_down_sync(full, v, 2, 8);  // segments of 8 lanes
  out[9 * 32 + lane] = __reduce_max_sync(full, v);
  // Two half-warps, each with its own mask.
  const unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  out[10 * 32 + lane] = __reduce_min_sync(half, v);
  __syncwarp();
  out[11 * 32 + lane] = __shfl_sync(full, v, 31);
}

__global__ void early_exit_kernel(float* out) {
  if (threadIdx.x >= 64) return;
  __syncthreads();
  out[threadIdx.x] = 1.0f;
}

__global__ void divergent_barriers_kernel(float* out) {
  if (threadIdx.x % 2 == 0) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1.0f;
}

__global__ void lane_leaves_kernel(float* out) {
  if (threadIdx.x == 0) return;
  float v = 1.0f;
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  out[threadIdx.x] = v;
}

__global__ void expf_kernel(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = expf(in[i]);
}

__global__ void dynamic_shared_kernel(const float* in, float* out, float* before, int n) {
  MYELIN_DYNAMIC_SHARED(float, buffer);
  const int i = static_cast<int>(threadIdx.x);
  if (i < n) {
    before[i] = buffer[i];
    buffer[i] = in[i];
  }
  __syncthreads();
  if (i < n) out[i] = buffer[n - 1 - i];
}

}  // namespace

void block_sum(const float* in, float* out, int blocks, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(block_sum_kernel<true>, blocks, kThreads, 0, stream, in, out);
}

void block_sum_missing_barrier(const float* in, float* out, int blocks, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(block_sum_kernel<false>, blocks, kThreads, 0, stream, in, out);
}

void warp_sum_partial_mask(const float* in, float* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(partial_mask_kernel, 1, 32, 0, stream, in, out);
}

void scale_off_by_one(const float* x, float* y, std::int64_t n, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(scale_off_by_one_kernel, 2, 64, 0, stream, x, y, n);
}

void read_unwritten_shared(float* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(read_unwritten_shared_kernel, 1, 32, 0, stream, out);
}

void fill_iota(float* out, int n, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(fill_iota_kernel, (n + 127) / 128, 128, 0, stream, out, n);
}

void add_one(const float* in, float* out, int n, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(add_one_kernel, (n + 127) / 128, 128, 0, stream, in, out, n);
}

void log_order(int* counter, int* log, int blocks, int threads, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(log_order_kernel, blocks, threads, 0, stream, counter, log);
}

void warp_collectives(const int* in, int* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(warp_collectives_kernel, 1, 32, 0, stream, in, out);
}

void early_exit_before_barrier(float* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(early_exit_kernel, 1, 128, 0, stream, out);
}

void divergent_barriers(float* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(divergent_barriers_kernel, 1, 64, 0, stream, out);
}

void lane_leaves_collective(float* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(lane_leaves_kernel, 1, 32, 0, stream, out);
}

void fill_with_dynamic_shared(float* out, std::size_t shared_bytes, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(fill_iota_kernel, 1, 32, shared_bytes, stream, out, 32);
}

void device_expf(const float* in, float* out, int n, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(expf_kernel, (n + 255) / 256, 256, 0, stream, in, out, n);
}

void through_dynamic_shared(const float* in, float* out, float* before, int n,
                            cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(dynamic_shared_kernel, 1, n, static_cast<std::size_t>(n) * sizeof(float),
                       stream, in, out, before, n);
}

}  // namespace myelin::kernels::emulator_test
