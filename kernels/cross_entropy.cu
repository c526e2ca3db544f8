// Fused softmax cross-entropy over integer class labels, forward and backward.
//
// Work mapping (forward): one warp per row for rows of up to 1,024 classes, one 512-thread block
// per row beyond (launch::rows), as in softmax.cu: an online max / sum of exponentials gives
// log-sum-exp, the row's probabilities are written for the backward pass, and the row's loss
// and whether it counts (not ignore_index) go to per-row slots in double. Two flat two-stage
// sums (kernels/reduce.cuh) add the rows in a fixed order, and one thread divides. A label out
// of range is recorded in the device error record (the host raises it at its next sync) and
// counts as an ignored row. Backward: one thread per logit, grid-stride.
#include "loss.hpp"
#include "reduce.cuh"
#include "row_reduce.cuh"

namespace myelin::kernels {

namespace {

struct RowOut {
  double* loss;   // [rows]
  double* count;  // [rows]
};

template <typename Label>
__device__ inline void finish_row(const CrossEntropyArgs& a, const Label* labels, std::int64_t row,
                                  MaxSum ms, float row_sum, RowOut out) {
  const std::int64_t label = static_cast<std::int64_t>(labels[row]);
  double loss = 0.0, count = 0.0;
  if (label != a.ignore_index) {
    if (label < 0 || label >= a.classes) {
      record_device_error(a.errors, kDeviceErrorLabelRange, a.node, row, label, a.classes);
    } else {
      const double lse = static_cast<double>(ms.max) + log(static_cast<double>(ms.sum));
      const double nll = lse - a.logits[row * a.classes + label];
      loss = (1.0 - a.label_smoothing) * nll;
      if (a.label_smoothing > 0.0f) {
        loss += a.label_smoothing * (lse - static_cast<double>(row_sum) / a.classes);
      }
      count = 1.0;
    }
  }
  out.loss[row] = loss;
  out.count[row] = count;
}

__device__ inline void write_probs(const float* x, float* p, std::int64_t classes, MaxSum ms,
                                   std::int64_t first, std::int64_t step) {
  const float inv = 1.0f / ms.sum;
  for (std::int64_t j = first; j < classes; j += step) p[j] = expf(x[j] - ms.max) * inv;
}

template <typename Label>
__global__ void cross_entropy_warp_kernel(CrossEntropyArgs a, RowOut out) {
  const std::int64_t row =
      static_cast<std::int64_t>(blockIdx.x) * (blockDim.x / kWarpSize) + threadIdx.x / kWarpSize;
  if (row >= a.rows) return;
  const int lane = threadIdx.x % kWarpSize;
  const float* x = a.logits + row * a.classes;
  MaxSum ms{-INFINITY, 0.0f};
  float sum = 0.0f;
  for (std::int64_t j = lane; j < a.classes; j += kWarpSize) {
    ms = push(ms, x[j]);
    sum += x[j];
  }
  ms = warp_max_sum(ms);
  sum = warp_sum(sum);
  write_probs(x, a.probs + row * a.classes, a.classes, ms, lane, kWarpSize);
  if (lane == 0) finish_row(a, static_cast<const Label*>(a.labels), row, ms, sum, out);
}

template <typename Label>
__global__ void cross_entropy_block_kernel(CrossEntropyArgs a, RowOut out) {
  MYELIN_SHARED(float[64], shared);
  MYELIN_SHARED(float[32], shared_sum);
  const std::int64_t row = blockIdx.x;
  const float* x = a.logits + row * a.classes;
  MaxSum ms{-INFINITY, 0.0f};
  float sum = 0.0f;
  for (std::int64_t j = threadIdx.x; j < a.classes; j += blockDim.x) {
    ms = push(ms, x[j]);
    sum += x[j];
  }
  ms = block_max_sum(ms, shared);
  sum = block_sum(sum, shared_sum);
  write_probs(x, a.probs + row * a.classes, a.classes, ms, threadIdx.x, blockDim.x);
  if (threadIdx.x == 0) finish_row(a, static_cast<const Label*>(a.labels), row, ms, sum, out);
}

struct ArrayTerm {
  const double* v;
  __device__ double operator()(std::int64_t i) const { return v[i]; }
};

// loss = total / count (NaN when every row is ignored, as in PyTorch); saves 1 / count.
__global__ void cross_entropy_finish_kernel(const double* total, const double* count, float* loss,
                                            float* inv_count) {
  const double inv = *count > 0.0 ? 1.0 / *count : nan("");
  *loss = static_cast<float>(*total * inv);
  *inv_count = static_cast<float>(inv);
}

template <typename Label>
__global__ void cross_entropy_backward_kernel(CrossEntropyArgs a, const float* __restrict__ grad,
                                              float* __restrict__ dlogits) {
  const Label* labels = static_cast<const Label*>(a.labels);
  const float scale = grad[0] * a.inv_count[0];
  const float uniform = a.label_smoothing / static_cast<float>(a.classes);
  const std::int64_t n = a.rows * a.classes;
  for (std::int64_t i = global_thread(); i < n; i += grid_stride()) {
    const std::int64_t row = i / a.classes;
    const std::int64_t label = static_cast<std::int64_t>(labels[row]);
    if (label == a.ignore_index || label < 0 || label >= a.classes) {
      dlogits[i] = 0.0f;
      continue;
    }
    const float target = (i % a.classes == label ? 1.0f - a.label_smoothing : 0.0f) + uniform;
    dlogits[i] = (a.probs[i] - target) * scale;
  }
}

template <typename Label>
cudaError_t forward_rows(const CrossEntropyArgs& a, bool warp_per_row, int blocks, int threads,
                         RowOut out, cudaStream_t stream) {
  if (warp_per_row) {
    MYELIN_LAUNCH_KERNEL(cross_entropy_warp_kernel<Label>, blocks, threads, 0, stream, a, out);
  } else {
    MYELIN_LAUNCH_KERNEL(cross_entropy_block_kernel<Label>, blocks, threads, 0, stream, a, out);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_cross_entropy_forward(const CrossEntropyArgs& a, bool warp_per_row, int blocks,
                                         int threads, std::int64_t chunk, std::int64_t chunks,
                                         double* partials, cudaStream_t stream) {
  // Scratch layout: row losses, row counts, loss partials, count partials, the two totals.
  RowOut out{partials, partials + a.rows};
  double* loss_partials = partials + 2 * a.rows;
  double* count_partials = loss_partials + chunks;
  double* totals = count_partials + chunks;
  // Each inner launcher reads (and so clears) the last error: a failure is returned at once.
  if (a.rows > 0) {
    const cudaError_t e =
        a.labels_int64 ? forward_rows<std::int64_t>(a, warp_per_row, blocks, threads, out, stream)
                       : forward_rows<std::int32_t>(a, warp_per_row, blocks, threads, out, stream);
    if (e != cudaSuccess) return e;
  }
  if (const cudaError_t e = launch_flat_sum(ArrayTerm{out.loss}, a.rows, chunk, chunks, 1.0,
                                            loss_partials, totals, stream)) {
    return e;
  }
  if (const cudaError_t e = launch_flat_sum(ArrayTerm{out.count}, a.rows, chunk, chunks, 1.0,
                                            count_partials, totals + 1, stream)) {
    return e;
  }
  MYELIN_LAUNCH_KERNEL(cross_entropy_finish_kernel, 1, 1, 0, stream, totals, totals + 1, a.loss,
                       a.inv_count);
  return cudaGetLastError();
}

cudaError_t launch_cross_entropy_backward(const CrossEntropyArgs& a, const float* grad,
                                          float* dlogits, int blocks, cudaStream_t stream) {
  if (a.rows * a.classes == 0) return cudaGetLastError();
  if (a.labels_int64) {
    MYELIN_LAUNCH_KERNEL(cross_entropy_backward_kernel<std::int64_t>, blocks, 256, 0, stream, a,
                         grad, dlogits);
  } else {
    MYELIN_LAUNCH_KERNEL(cross_entropy_backward_kernel<std::int32_t>, blocks, 256, 0, stream, a,
                         grad, dlogits);
  }
  return cudaGetLastError();
}

}  // namespace myelin::kernels
