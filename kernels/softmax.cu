// softmax and log_softmax over the last axis, forward and backward.
//
// Work mapping: rows of up to 1,024 elements get one warp each (8 rows per 256-thread block):
// lanes stride over the row, keep an online maximum and rescaled sum, and combine them with
// shuffles, so no shared memory or block barrier is needed. Longer rows get a 512-thread block
// each, combining warp results through shared memory. A second pass over the row (still in L1/L2)
// writes exp(x - max) / sum or x - max - log(sum). Backward rows reduce sum(dy * y) (or sum(dy))
// the same way. The reduction trees are fixed: the same row always gives the same bits.
#include "row_reduce.cuh"
#include "softmax.hpp"

namespace myelin::kernels {

namespace {

template <bool kLog>
__device__ inline void write_row(const float* x, float* y, std::int64_t cols, MaxSum ms,
                                 std::int64_t first, std::int64_t step) {
  const float log_sum = logf(ms.sum);
  const float inv_sum = 1.0f / ms.sum;
  for (std::int64_t j = first; j < cols; j += step) {
    y[j] = kLog ? x[j] - ms.max - log_sum : expf(x[j] - ms.max) * inv_sum;
  }
}

template <bool kLog>
__global__ void softmax_warp_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                            std::int64_t rows, std::int64_t cols) {
  const std::int64_t row =
      static_cast<std::int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + threadIdx.x / kWarpSize;
  if (row >= rows) return;  // whole warps leave together: shuffles stay full
  const int lane = threadIdx.x % kWarpSize;
  const float* xr = x + row * cols;
  MaxSum ms{-INFINITY, 0.0f};
  for (std::int64_t j = lane; j < cols; j += kWarpSize) ms = push(ms, xr[j]);
  ms = warp_max_sum(ms);
  write_row<kLog>(xr, y + row * cols, cols, ms, lane, kWarpSize);
}

template <bool kLog>
__global__ void softmax_block_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                             std::int64_t cols) {
  MYELIN_SHARED(float[64], shared);
  const std::int64_t row = blockIdx.x;
  const float* xr = x + row * cols;
  MaxSum ms{-INFINITY, 0.0f};
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) ms = push(ms, xr[j]);
  ms = block_max_sum(ms, shared);
  write_row<kLog>(xr, y + row * cols, cols, ms, threadIdx.x, blockDim.x);
}

template <bool kLog>
__device__ inline float backward_term(float y, float dy) {
  return kLog ? dy : dy * y;
}

template <bool kLog>
__device__ inline void write_grad_row(const float* y, const float* dy, float* dx, std::int64_t cols,
                                      float dot, std::int64_t first, std::int64_t step) {
  for (std::int64_t j = first; j < cols; j += step) {
    dx[j] = kLog ? dy[j] - expf(y[j]) * dot : y[j] * (dy[j] - dot);
  }
}

template <bool kLog>
__global__ void softmax_warp_backward_kernel(const float* __restrict__ y,
                                             const float* __restrict__ dy, float* __restrict__ dx,
                                             std::int64_t rows, std::int64_t cols) {
  const std::int64_t row =
      static_cast<std::int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + threadIdx.x / kWarpSize;
  if (row >= rows) return;
  const int lane = threadIdx.x % kWarpSize;
  const std::int64_t base = row * cols;
  float dot = 0.0f;
  for (std::int64_t j = lane; j < cols; j += kWarpSize)
    dot += backward_term<kLog>(y[base + j], dy[base + j]);
  dot = warp_sum(dot);
  write_grad_row<kLog>(y + base, dy + base, dx + base, cols, dot, lane, kWarpSize);
}

template <bool kLog>
__global__ void softmax_block_backward_kernel(const float* __restrict__ y,
                                              const float* __restrict__ dy, float* __restrict__ dx,
                                              std::int64_t cols) {
  MYELIN_SHARED(float[32], shared);
  const std::int64_t base = static_cast<std::int64_t>(blockIdx.x) * cols;
  float dot = 0.0f;
  for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    dot += backward_term<kLog>(y[base + j], dy[base + j]);
  }
  dot = block_sum(dot, shared);
  write_grad_row<kLog>(y + base, dy + base, dx + base, cols, dot, threadIdx.x, blockDim.x);
}

template <bool kLog>
void forward(const float* x, float* y, std::int64_t rows, std::int64_t cols, bool warp_per_row,
             int blocks, int threads, cudaStream_t stream) {
  if (warp_per_row) {
    MYELIN_LAUNCH_KERNEL(softmax_warp_forward_kernel<kLog>, blocks, threads, 0, stream, x, y, rows,
                         cols);
  } else {
    MYELIN_LAUNCH_KERNEL(softmax_block_forward_kernel<kLog>, blocks, threads, 0, stream, x, y,
                         cols);
  }
}

template <bool kLog>
void backward(const float* y, const float* dy, float* dx, std::int64_t rows, std::int64_t cols,
              bool warp_per_row, int blocks, int threads, cudaStream_t stream) {
  if (warp_per_row) {
    MYELIN_LAUNCH_KERNEL(softmax_warp_backward_kernel<kLog>, blocks, threads, 0, stream, y, dy, dx,
                         rows, cols);
  } else {
    MYELIN_LAUNCH_KERNEL(softmax_block_backward_kernel<kLog>, blocks, threads, 0, stream, y, dy, dx,
                         cols);
  }
}

}  // namespace

cudaError_t launch_softmax_forward(bool log, const float* x, float* y, std::int64_t rows,
                                   std::int64_t cols, bool warp_per_row, int blocks, int threads,
                                   cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaGetLastError();
  if (log) {
    forward<true>(x, y, rows, cols, warp_per_row, blocks, threads, stream);
  } else {
    forward<false>(x, y, rows, cols, warp_per_row, blocks, threads, stream);
  }
  return cudaGetLastError();
}

cudaError_t launch_softmax_backward(bool log, const float* y, const float* dy, float* dx,
                                    std::int64_t rows, std::int64_t cols, bool warp_per_row,
                                    int blocks, int threads, cudaStream_t stream) {
  if (rows == 0 || cols == 0) return cudaGetLastError();
  if (log) {
    backward<true>(y, dy, dx, rows, cols, warp_per_row, blocks, threads, stream);
  } else {
    backward<false>(y, dy, dx, rows, cols, warp_per_row, blocks, threads, stream);
  }
  return cudaGetLastError();
}

}  // namespace myelin::kernels
