// Binary cross-entropy with logits (optionally masked) and mean squared error.
//
// Work mapping: the per-element terms are summed by the flat two-stage reduction of
// kernels/reduce.cuh (blocks over fixed chunks, partial sums in double added in chunk order),
// and one thread divides by the count, so the mean is the same bits every run and never leaves
// device memory. Backward passes are one thread per element over a grid-stride loop, reading
// the incoming gradient and the saved 1/count from device memory.
#include "loss.hpp"
#include "reduce.cuh"

namespace myelin::kernels {

namespace {

__device__ inline double mask_at(const BceArgs& a, std::int64_t i) {
  if (a.mask == nullptr) return 1.0;
  return a.mask_uint8 ? static_cast<double>(static_cast<const std::uint8_t*>(a.mask)[i])
                      : static_cast<double>(static_cast<const float*>(a.mask)[i]);
}

struct BceTerm {
  BceArgs a;
  __device__ double operator()(std::int64_t i) const {
    const double m = mask_at(a, i);
    if (m != 0.0 && m != 1.0) {
      record_device_error(a.errors, kDeviceErrorMaskValue, a.node, i);
      return 0.0;
    }
    if (m == 0.0) return 0.0;
    const double x = a.logits[i];
    // max(x, 0) - x t + log(1 + exp(-|x|)): no overflow for any x.
    return fmax(x, 0.0) - x * a.targets[i] + log1p(exp(-fabs(x)));
  }
};

struct MaskTerm {
  BceArgs a;
  __device__ double operator()(std::int64_t i) const { return mask_at(a, i) == 1.0 ? 1.0 : 0.0; }
};

// With a mask and no observed entry the loss and its gradient are 0 rather than 0/0.
__global__ void bce_finish_kernel(const double* total, const double* count, float* loss,
                                  float* inv_count) {
  const double inv = *count > 0.0 ? 1.0 / *count : 0.0;
  *loss = static_cast<float>(*total * inv);
  *inv_count = static_cast<float>(inv);
}

__global__ void bce_backward_kernel(BceArgs a, const float* __restrict__ grad,
                                    float* __restrict__ dlogits) {
  const float scale = grad[0] * a.inv_count[0];
  for (std::int64_t i = global_thread(); i < a.n; i += grid_stride()) {
    const float x = a.logits[i];
    const float s = x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
    // Masked-out entries are set, not multiplied by 0: their target may be NaN (a missing label).
    dlogits[i] = mask_at(a, i) == 0.0 ? 0.0f : (s - a.targets[i]) * scale;
  }
}

struct SquaredDifference {
  const float* a;
  const float* b;
  __device__ double operator()(std::int64_t i) const {
    const double d = static_cast<double>(a[i]) - b[i];
    return d * d;
  }
};

__global__ void to_float_kernel(const double* value, float* out) {
  *out = static_cast<float>(*value);
}

__global__ void mse_backward_kernel(const float* __restrict__ a, const float* __restrict__ b,
                                    const float* __restrict__ grad, float* __restrict__ da,
                                    float* __restrict__ db, std::int64_t n) {
  const float scale = grad[0] * 2.0f / static_cast<float>(n);
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const float g = (a[i] - b[i]) * scale;
    if (da != nullptr) da[i] = g;
    if (db != nullptr) db[i] = -g;
  }
}

}  // namespace

cudaError_t launch_bce_forward(const BceArgs& a, int /*blocks*/, std::int64_t chunk,
                               std::int64_t chunks, double* partials, cudaStream_t stream) {
  double* totals = partials + 2 * chunks;
  // Each sum's launcher reads (and so clears) the last error: a failure is returned at once.
  if (const cudaError_t e =
          launch_flat_sum(BceTerm{a}, a.n, chunk, chunks, 1.0, partials, totals, stream)) {
    return e;
  }
  if (const cudaError_t e = launch_flat_sum(MaskTerm{a}, a.n, chunk, chunks, 1.0, partials + chunks,
                                            totals + 1, stream)) {
    return e;
  }
  MYELIN_LAUNCH_KERNEL(bce_finish_kernel, 1, 1, 0, stream, totals, totals + 1, a.loss, a.inv_count);
  return cudaGetLastError();
}

cudaError_t launch_bce_backward(const BceArgs& a, const float* grad, float* dlogits, int blocks,
                                cudaStream_t stream) {
  if (a.n > 0) MYELIN_LAUNCH_KERNEL(bce_backward_kernel, blocks, 256, 0, stream, a, grad, dlogits);
  return cudaGetLastError();
}

cudaError_t launch_mse_forward(const float* a, const float* b, float* loss, std::int64_t n,
                               std::int64_t chunk, std::int64_t chunks, double* partials,
                               cudaStream_t stream) {
  double* total = partials + chunks;
  // The mean of no elements is NaN, as in PyTorch.
  const double scale = n > 0 ? 1.0 / static_cast<double>(n) : nan("");
  if (const cudaError_t e = launch_flat_sum(SquaredDifference{a, b}, n, chunk, chunks, scale,
                                            partials, total, stream)) {
    return e;  // the sum's launcher has read (and so cleared) the last error
  }
  MYELIN_LAUNCH_KERNEL(to_float_kernel, 1, 1, 0, stream, total, loss);
  return cudaGetLastError();
}

cudaError_t launch_mse_backward(const float* a, const float* b, const float* grad, float* da,
                                float* db, std::int64_t n, int blocks, cudaStream_t stream) {
  if (n > 0)
    MYELIN_LAUNCH_KERNEL(mse_backward_kernel, blocks, 256, 0, stream, a, b, grad, da, db, n);
  return cudaGetLastError();
}

}  // namespace myelin::kernels
