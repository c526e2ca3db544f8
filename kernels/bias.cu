// Bias add and bias gradient of linear layers.
//
// Work mapping: the add is one thread per element of [rows, cols] over a grid-stride loop (the
// bias row stays in L1). The gradient is a column sum: blocks of 32 columns x 8 row lanes read
// rows coalesced over fixed chunks of rows, partial sums in double are added in chunk order
// (kernels/reduce.cuh), then converted: deterministic, no atomics. Used where cuBLASLt's bias
// epilogue does not apply.
#include "bias.hpp"
#include "reduce.cuh"

namespace myelin::kernels {

namespace {

__global__ void bias_add_kernel(float* __restrict__ y, const float* __restrict__ bias,
                                std::int64_t n, std::int64_t cols) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) y[i] += bias[i % cols];
}

struct Element {
  const float* v;
  __device__ double operator()(std::int64_t i) const { return v[i]; }
};

__global__ void to_float_kernel(const double* __restrict__ in, float* __restrict__ out,
                                std::int64_t n) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride())
    out[i] = static_cast<float>(in[i]);
}

}  // namespace

cudaError_t launch_bias_add(float* y, const float* bias, std::int64_t rows, std::int64_t cols,
                            int blocks, cudaStream_t stream) {
  if (rows * cols > 0)
    MYELIN_LAUNCH_KERNEL(bias_add_kernel, blocks, 256, 0, stream, y, bias, rows * cols, cols);
  return cudaGetLastError();
}

cudaError_t launch_bias_grad(const float* dy, std::int64_t rows, std::int64_t cols,
                             std::int64_t chunk, std::int64_t chunks, double* scratch, float* dbias,
                             cudaStream_t stream) {
  if (cols == 0) return cudaGetLastError();
  double* sums = scratch + chunks * cols;
  // The sums' launcher reads (and so clears) the last error: a failure is returned at once.
  if (const cudaError_t e = launch_channel_sums(Element{dy}, rows, cols, 1, true, chunk, chunks,
                                                1.0, scratch, sums, stream)) {
    return e;
  }
  const std::int64_t blocks = (cols + 255) / 256;
  MYELIN_LAUNCH_KERNEL(to_float_kernel, static_cast<unsigned>(blocks < 1024 ? blocks : 1024), 256,
                       0, stream, sums, dbias, cols);
  return cudaGetLastError();
}

}  // namespace myelin::kernels
