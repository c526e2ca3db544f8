#pragma once

// Row reductions for row-wise kernels (softmax, cross-entropy): a warp or a block walks one
// row; each thread keeps an online maximum and a sum of exponentials rescaled to it, and the
// (max, sum) pairs are combined by a fixed butterfly / tree.

#include "common.cuh"

namespace myelin::kernels {

struct MaxSum {
  float max;
  float sum;  // sum of exp(x - max)
};

__device__ inline MaxSum combine(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.max, b.max);
  // An empty side (sum 0, max -inf) contributes nothing, and must not make exp(-inf + inf).
  const float sa = a.sum == 0.0f ? 0.0f : a.sum * expf(a.max - m);
  const float sb = b.sum == 0.0f ? 0.0f : b.sum * expf(b.max - m);
  return {m, sa + sb};
}

__device__ inline MaxSum push(MaxSum acc, float x) {
  // A masked element (-inf) adds exp(-inf) = 0; computing it as exp(x - max) would make
  // exp(-inf - -inf) = NaN while the running maximum is still -inf.
  if (x == -INFINITY) return acc;
  if (x > acc.max) {
    const float rescaled = acc.sum == 0.0f ? 0.0f : acc.sum * expf(acc.max - x);
    return {x, rescaled + 1.0f};
  }
  return {acc.max, acc.sum + expf(x - acc.max)};
}

__device__ inline MaxSum warp_max_sum(MaxSum v) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    MaxSum other;
    other.max = __shfl_xor_sync(kFullMask, v.max, offset);
    other.sum = __shfl_xor_sync(kFullMask, v.sum, offset);
    v = combine(v, other);
  }
  return v;
}

// Every thread of the block gets the row's (max, sum). `shared` holds 64 floats.
__device__ inline MaxSum block_max_sum(MaxSum v, float* shared) {
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  v = warp_max_sum(v);
  __syncthreads();
  if (lane == 0) {
    shared[warp] = v.max;
    shared[32 + warp] = v.sum;
  }
  __syncthreads();
  MaxSum w = lane < warps ? MaxSum{shared[lane], shared[32 + lane]} : MaxSum{-INFINITY, 0.0f};
  return warp_max_sum(w);
}

}  // namespace myelin::kernels
