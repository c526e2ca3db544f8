// Batch norm over the channels of [N, C, *], forward (training and eval) and backward.
//
// Work mapping: per-channel statistics are two-stage sums (kernels/reduce.cuh) in double: for
// [N, F] blocks of 32 features x 8 row lanes read whole rows coalesced; for [N, C, H, W] a block
// per (channel, chunk of images) strides over the chunk. The chunk sums are added in chunk order,
// so the statistics are the same bits every run (no atomics). The variance is a second pass over
// squared deviations from the mean (no E[x^2] - E[x]^2 cancellation). One thread per channel then
// finishes mean, 1/sqrt(var + eps) and the running statistics; the normalisation and the input
// gradient are one thread per element over grid-stride loops.
#include "batch_norm.hpp"
#include "reduce.cuh"

namespace myelin::kernels {

namespace {

__device__ inline std::int64_t channel_of(std::int64_t i, std::int64_t channels,
                                          std::int64_t inner) {
  return (i / inner) % channels;
}

struct Value {
  const float* x;
  __device__ double operator()(std::int64_t i) const { return x[i]; }
};

struct SquaredDeviation {
  const float* x;
  const double* mean;
  std::int64_t channels, inner;
  __device__ double operator()(std::int64_t i) const {
    const double d = x[i] - mean[channel_of(i, channels, inner)];
    return d * d;
  }
};

struct GradTimesNormalised {
  const float* x;
  const float* dy;
  const float* mean;
  const float* invstd;
  std::int64_t channels, inner;
  __device__ double operator()(std::int64_t i) const {
    const std::int64_t c = channel_of(i, channels, inner);
    return static_cast<double>(dy[i]) * ((static_cast<double>(x[i]) - mean[c]) * invstd[c]);
  }
};

__global__ void finish_train_kernel(const double* mean, const double* var_sum,
                                    std::int64_t channels, double count, float momentum, float eps,
                                    float* running_mean, float* running_var,
                                    std::int64_t* num_batches_tracked, float* saved_mean,
                                    float* saved_invstd) {
  for (std::int64_t c = global_thread(); c < channels; c += grid_stride()) {
    const double var = var_sum[c] / count;
    saved_mean[c] = static_cast<float>(mean[c]);
    saved_invstd[c] = static_cast<float>(1.0 / sqrt(var + eps));
    const double new_mean = (1.0 - momentum) * running_mean[c] + momentum * mean[c];
    const double new_var =
        (1.0 - momentum) * running_var[c] + momentum * var * count / (count - 1.0);
    // A channel whose batch statistics are not finite (a diverging step, a non-finite input)
    // keeps its running statistics, as a skipped update keeps the weights. Comparisons, not
    // isfinite: false for inf and NaN under any math flags.
    if (fabs(new_mean) <= 3.4028234663852886e38 && fabs(new_var) <= 3.4028234663852886e38) {
      running_mean[c] = static_cast<float>(new_mean);
      running_var[c] = static_cast<float>(new_var);
    }
  }
  if (global_thread() == 0) *num_batches_tracked += 1;  // one writer: no atomic
}

__global__ void finish_eval_kernel(const float* running_mean, const float* running_var,
                                   std::int64_t channels, float eps, float* saved_mean,
                                   float* saved_invstd) {
  for (std::int64_t c = global_thread(); c < channels; c += grid_stride()) {
    saved_mean[c] = running_mean[c];
    saved_invstd[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(running_var[c]) + eps));
  }
}

__global__ void normalize_kernel(const float* __restrict__ x, const float* __restrict__ mean,
                                 const float* __restrict__ invstd, const float* __restrict__ weight,
                                 const float* __restrict__ bias, float* __restrict__ y,
                                 std::int64_t n, std::int64_t channels, std::int64_t inner) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const std::int64_t c = channel_of(i, channels, inner);
    const float w = weight != nullptr ? weight[c] : 1.0f;
    const float b = bias != nullptr ? bias[c] : 0.0f;
    y[i] = (x[i] - mean[c]) * invstd[c] * w + b;
  }
}

__global__ void finish_param_grads_kernel(const double* sum_dy, const double* sum_dy_xhat,
                                          std::int64_t channels, float* dweight, float* dbias) {
  for (std::int64_t c = global_thread(); c < channels; c += grid_stride()) {
    if (dweight != nullptr) dweight[c] = static_cast<float>(sum_dy_xhat[c]);
    if (dbias != nullptr) dbias[c] = static_cast<float>(sum_dy[c]);
  }
}

__global__ void input_grad_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                                  const float* __restrict__ weight, const float* __restrict__ mean,
                                  const float* __restrict__ invstd,
                                  const double* __restrict__ sum_dy,
                                  const double* __restrict__ sum_dy_xhat, float* __restrict__ dx,
                                  std::int64_t n, std::int64_t channels, std::int64_t inner,
                                  double count, bool train) {
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const std::int64_t c = channel_of(i, channels, inner);
    const double scale = (weight != nullptr ? weight[c] : 1.0f) * static_cast<double>(invstd[c]);
    if (train) {
      // The batch statistics depend on every x: the mean term and the variance term.
      const double xhat = (static_cast<double>(x[i]) - mean[c]) * invstd[c];
      dx[i] =
          static_cast<float>(scale * (dy[i] - sum_dy[c] / count - xhat * sum_dy_xhat[c] / count));
    } else {
      dx[i] = static_cast<float>(scale * dy[i]);
    }
  }
}

unsigned channel_blocks(std::int64_t channels) {
  const std::int64_t b = (channels + 255) / 256;
  return static_cast<unsigned>(b < 1 ? 1 : (b > 1024 ? 1024 : b));
}

}  // namespace

cudaError_t launch_batch_norm_forward(const BatchNormShape& s, bool train, const float* x,
                                      const float* weight, const float* bias, float* running_mean,
                                      float* running_var, std::int64_t* num_batches_tracked,
                                      float momentum, float eps, float* saved_mean,
                                      float* saved_invstd, float* y, double* scratch, int blocks,
                                      cudaStream_t stream) {
  const std::int64_t n = s.outer * s.channels * s.inner;
  if (train) {
    const double count = static_cast<double>(s.outer * s.inner);
    double* partials = scratch;
    double* mean = scratch + s.chunks * s.channels;
    double* var_sum = mean + s.channels;
    // Each inner launcher reads (and so clears) the last error: a failure is returned at once.
    if (const cudaError_t e =
            launch_channel_sums(Value{x}, s.outer, s.channels, s.inner, s.columns, s.chunk,
                                s.chunks, 1.0 / count, partials, mean, stream)) {
      return e;
    }
    if (const cudaError_t e = launch_channel_sums(SquaredDeviation{x, mean, s.channels, s.inner},
                                                  s.outer, s.channels, s.inner, s.columns, s.chunk,
                                                  s.chunks, 1.0, partials, var_sum, stream)) {
      return e;
    }
    MYELIN_LAUNCH_KERNEL(finish_train_kernel, channel_blocks(s.channels), 256, 0, stream, mean,
                         var_sum, s.channels, count, momentum, eps, running_mean, running_var,
                         num_batches_tracked, saved_mean, saved_invstd);
  } else {
    MYELIN_LAUNCH_KERNEL(finish_eval_kernel, channel_blocks(s.channels), 256, 0, stream,
                         running_mean, running_var, s.channels, eps, saved_mean, saved_invstd);
  }
  if (n > 0) {
    MYELIN_LAUNCH_KERNEL(normalize_kernel, blocks, 256, 0, stream, x, saved_mean, saved_invstd,
                         weight, bias, y, n, s.channels, s.inner);
  }
  return cudaGetLastError();
}

cudaError_t launch_batch_norm_backward(const BatchNormShape& s, bool train, const float* x,
                                       const float* dy, const float* weight,
                                       const float* saved_mean, const float* saved_invstd,
                                       float* dx, float* dweight, float* dbias, double* scratch,
                                       int blocks, cudaStream_t stream) {
  const std::int64_t n = s.outer * s.channels * s.inner;
  double* partials = scratch;
  double* sum_dy = scratch + s.chunks * s.channels;
  double* sum_dy_xhat = sum_dy + s.channels;
  if (const cudaError_t e = launch_channel_sums(Value{dy}, s.outer, s.channels, s.inner, s.columns,
                                                s.chunk, s.chunks, 1.0, partials, sum_dy, stream)) {
    return e;
  }
  if (const cudaError_t e = launch_channel_sums(
          GradTimesNormalised{x, dy, saved_mean, saved_invstd, s.channels, s.inner}, s.outer,
          s.channels, s.inner, s.columns, s.chunk, s.chunks, 1.0, partials, sum_dy_xhat, stream)) {
    return e;
  }
  if (dweight != nullptr || dbias != nullptr) {
    MYELIN_LAUNCH_KERNEL(finish_param_grads_kernel, channel_blocks(s.channels), 256, 0, stream,
                         sum_dy, sum_dy_xhat, s.channels, dweight, dbias);
  }
  if (dx != nullptr && n > 0) {
    MYELIN_LAUNCH_KERNEL(input_grad_kernel, blocks, 256, 0, stream, x, dy, weight, saved_mean,
                         saved_invstd, sum_dy, sum_dy_xhat, dx, n, s.channels, s.inner,
                         static_cast<double>(s.outer * s.inner), train);
  }
  return cudaGetLastError();
}

}  // namespace myelin::kernels
