// Elementwise kernels of the scheduler and the backend: add, accumulate (fan-in of gradients),
// scale and clamp (gradient clipping), the sum of squares (gradient norms), and writing a
// per-step scalar to device memory.
//
// Work mapping: grid-stride loops, one thread per float4 when every pointer is 16-byte aligned
// (then a scalar tail), one thread per element otherwise; grids capped by launch::elementwise.
// The sum of squares is two-stage (kernels/reduce.cuh): fixed chunks per block, partial sums in
// double added in chunk order, so it gives the same bits on every run.
#include "common.cuh"
#include "elementwise.hpp"
#include "reduce.cuh"

namespace myelin::kernels {

namespace {

__global__ void add_kernel(const float* __restrict__ a, const float* __restrict__ b,
                           float* __restrict__ y, std::int64_t n, bool vectorized) {
  std::int64_t tail_start = 0;
  if (vectorized) {
    const std::int64_t vectors = n / 4;
    const float4* a4 = reinterpret_cast<const float4*>(a);
    const float4* b4 = reinterpret_cast<const float4*>(b);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (std::int64_t i = global_thread(); i < vectors; i += grid_stride()) {
      const float4 u = a4[i], v = b4[i];
      y4[i] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
    }
    tail_start = vectors * 4;
  }
  for (std::int64_t i = tail_start + global_thread(); i < n; i += grid_stride()) y[i] = a[i] + b[i];
}

__global__ void accumulate_kernel(float* dst, const float* __restrict__ src, std::int64_t n,
                                  bool vectorized) {
  std::int64_t tail_start = 0;
  if (vectorized) {
    const std::int64_t vectors = n / 4;
    float4* d4 = reinterpret_cast<float4*>(dst);
    const float4* s4 = reinterpret_cast<const float4*>(src);
    for (std::int64_t i = global_thread(); i < vectors; i += grid_stride()) {
      const float4 u = d4[i], v = s4[i];
      d4[i] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
    }
    tail_start = vectors * 4;
  }
  for (std::int64_t i = tail_start + global_thread(); i < n; i += grid_stride()) dst[i] += src[i];
}

__global__ void scale_kernel(float* __restrict__ t, float factor, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) t[i] *= factor;
}

__global__ void clamp_kernel(float* __restrict__ t, float limit, std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    t[i] = fminf(fmaxf(t[i], -limit), limit);
  }
}

__global__ void write_u64_kernel(std::uint64_t* target, std::uint64_t value) {
  *target = value;
}

struct Square {
  const float* t;
  __device__ double operator()(std::int64_t i) const {
    const double v = t[i];
    return v * v;
  }
};

}  // namespace

cudaError_t launch_add(const float* a, const float* b, float* y, std::int64_t n, bool vectorized,
                       int blocks, cudaStream_t stream) {
  if (n > 0) MYELIN_LAUNCH_KERNEL(add_kernel, blocks, 256, 0, stream, a, b, y, n, vectorized);
  return cudaGetLastError();
}

cudaError_t launch_accumulate(float* dst, const float* src, std::int64_t n, bool vectorized,
                              int blocks, cudaStream_t stream) {
  if (n > 0)
    MYELIN_LAUNCH_KERNEL(accumulate_kernel, blocks, 256, 0, stream, dst, src, n, vectorized);
  return cudaGetLastError();
}

cudaError_t launch_scale(float* t, float factor, std::int64_t n, int blocks, cudaStream_t stream) {
  if (n > 0) MYELIN_LAUNCH_KERNEL(scale_kernel, blocks, 256, 0, stream, t, factor, n);
  return cudaGetLastError();
}

cudaError_t launch_clamp(float* t, float limit, std::int64_t n, int blocks, cudaStream_t stream) {
  if (n > 0) MYELIN_LAUNCH_KERNEL(clamp_kernel, blocks, 256, 0, stream, t, limit, n);
  return cudaGetLastError();
}

cudaError_t launch_sum_of_squares(const float* t, std::int64_t n, std::int64_t chunk,
                                  std::int64_t chunks, double* partials, double* out,
                                  cudaStream_t stream) {
  return launch_flat_sum(Square{t}, n, chunk, chunks, 1.0, partials, out, stream);
}

cudaError_t launch_write_u64(std::uint64_t* target, std::uint64_t value, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(write_u64_kernel, 1, 1, 0, stream, target, value);
  return cudaGetLastError();
}

}  // namespace myelin::kernels
