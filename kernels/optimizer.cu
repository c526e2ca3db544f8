// The fused multi-tensor optimizer and the global gradient norm.
//
// Work mapping: every parameter is cut into chunks of launch::kMultiTensorChunk elements (the
// chunk table is built on the host); block k handles chunk k, its threads striding over the
// chunk. One launch therefore updates every parameter of the model, and one launch computes the
// sums of squares of all gradients (a partial sum per chunk in double) before a single block adds
// the partials in chunk order and writes the norm and the clip scale to device memory. The
// update kernel reads that scale and the step's constants (learning rate, bias corrections,
// decay) from device memory: clipping needs no host round trip, and the whole step can be
// captured and replayed. When the norm is not finite the scale says so and every block leaves
// its chunk as it was: a diverged step is skipped on the device, without the host deciding. The
// per-element rule is update_rules.hpp, shared with the CPU path.
#include "common.cuh"
#include "optimizer.hpp"

namespace myelin::kernels {

namespace {

__global__ void write_constants_kernel(StepConstants* target, StepConstants value) {
  *target = value;
}

__global__ void chunk_squares_kernel(MultiTensorTable t, double* __restrict__ partials) {
  MYELIN_SHARED(double[32], shared);
  const std::int64_t k = blockIdx.x;
  const ParamSlots& p = t.params[t.chunk_tensor[k]];
  const std::int64_t begin = t.chunk_start[k];
  const std::int64_t end = begin + t.chunk < p.n ? begin + t.chunk : p.n;
  double s = 0.0;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const double g = p.g[i];
    s += g * g;
  }
  const double total = block_sum(s, shared);
  if (threadIdx.x == 0) partials[k] = total;
}

__global__ void norm_finish_kernel(const double* __restrict__ partials, std::int64_t chunks,
                                   double max_norm, double* norm, float* scale) {
  MYELIN_SHARED(double[32], shared);
  double s = 0.0;
  // Thread t adds partials t, t + blockDim, ... then the fixed block tree: a fixed order.
  for (std::int64_t k = threadIdx.x; k < chunks; k += blockDim.x) s += partials[k];
  const double total = block_sum(s, shared);
  if (threadIdx.x == 0) {
    const double n = sqrt(total);
    *norm = n;
    const double factor = max_norm > 0.0 ? max_norm / (n + 1e-6) : 1.0;
    // A comparison rather than isfinite: false for inf and NaN under any math flags.
    const bool finite = total <= 1.7976931348623157e308;
    *scale = finite ? static_cast<float>(factor < 1.0 ? factor : 1.0) : kSkipUpdate;
  }
}

__global__ void multi_tensor_update_kernel(MultiTensorTable t, const StepConstants* __restrict__ c,
                                           const float* __restrict__ clip_scale) {
  const std::int64_t k = blockIdx.x;
  const ParamSlots p = t.params[t.chunk_tensor[k]];
  const float scale = *clip_scale;
  if (scale == kSkipUpdate) return;  // a non-finite gradient: this update changes nothing
  UpdateConstants<float> constants = c->groups[p.group];
  constants.grad_scale = scale;
  const std::int64_t begin = t.chunk_start[k];
  const std::int64_t end = begin + t.chunk < p.n ? begin + t.chunk : p.n;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float w = p.w[i];
    float s0 = p.s[0] ? p.s[0][i] : 0.0f;
    float s1 = p.s[1] ? p.s[1][i] : 0.0f;
    float s2 = p.s[2] ? p.s[2][i] : 0.0f;
    update_element(constants, w, p.g[i], s0, s1, s2);
    p.w[i] = w;
    if (p.s[0]) p.s[0][i] = s0;
    if (p.s[1]) p.s[1][i] = s1;
    if (p.s[2]) p.s[2][i] = s2;
  }
}

}  // namespace

cudaError_t launch_write_constants(StepConstants* target, const StepConstants& value,
                                   cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(write_constants_kernel, 1, 1, 0, stream, target, value);
  return cudaGetLastError();
}

cudaError_t launch_grad_norm(const MultiTensorTable& table, double* partials, double max_norm,
                             double* norm, float* scale, cudaStream_t stream) {
  if (table.chunks > 0) {
    MYELIN_LAUNCH_KERNEL(chunk_squares_kernel, static_cast<unsigned>(table.chunks), 256, 0, stream,
                         table, partials);
  }
  MYELIN_LAUNCH_KERNEL(norm_finish_kernel, 1, 256, 0, stream, partials, table.chunks, max_norm,
                       norm, scale);
  return cudaGetLastError();
}

cudaError_t launch_multi_tensor_update(const MultiTensorTable& table,
                                       const StepConstants* constants, const float* clip_scale,
                                       cudaStream_t stream) {
  if (table.chunks > 0) {
    MYELIN_LAUNCH_KERNEL(multi_tensor_update_kernel, static_cast<unsigned>(table.chunks), 256, 0,
                         stream, table, constants, clip_scale);
  }
  return cudaGetLastError();
}

}  // namespace myelin::kernels
