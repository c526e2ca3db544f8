#pragma once

// Test-only kernels of the emulated device's tests (test_kernels.cu): correct ones, and ones
// with a planted bug each, which the emulated device must catch. Each launcher queues its kernel
// on `stream`; its status is cudaGetLastError() afterwards. They live in namespace
// myelin::kernels as every kernel does (their math functions are the device's there).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels::emulator_test {

// out[blockIdx.x] = sum of in over the block's 256-element slice (a tree through shared memory).
void block_sum(const float* in, float* out, int blocks, cudaStream_t stream);
// Planted: the same reduction without the __syncthreads() between writing and reading the warp
// totals.
void block_sum_missing_barrier(const float* in, float* out, int blocks, cudaStream_t stream);
// Planted: a warp butterfly sum whose mask names only the lower 16 lanes while all 32 run it.
void warp_sum_partial_mask(const float* in, float* out, cudaStream_t stream);
// Planted: a grid-stride loop with `<=` instead of `<`: writes y[n].
void scale_off_by_one(const float* x, float* y, std::int64_t n, cudaStream_t stream);
// Planted: each thread reads the shared slot of its neighbour, which nobody wrote.
void read_unwritten_shared(float* out, cudaStream_t stream);
// Writes 1..n into `out` (device or pinned host memory).
void fill_iota(float* out, int n, cudaStream_t stream);
// out[i] = in[i] + 1 (reads `in` when the kernel runs).
void add_one(const float* in, float* out, int n, cudaStream_t stream);
// Each thread of `blocks` x `threads` appends its global index to `log` (slot from `counter`,
// which must start at 0): the order threads ran in.
void log_order(int* counter, int* log, int blocks, int threads, cudaStream_t stream);
// Warp collectives on one warp of 32 lanes; out[k * 32 + lane] holds collective k's result.
void warp_collectives(const int* in, int* out, cudaStream_t stream);
// Half of a block returns before a __syncthreads() the other half reaches.
void early_exit_before_barrier(float* out, cudaStream_t stream);
// Threads wait at two different __syncthreads().
void divergent_barriers(float* out, cudaStream_t stream);
// Lane 0 returns while the others shuffle with a full mask.
void lane_leaves_collective(float* out, cudaStream_t stream);
// out[i] = expf(in[i]) on the device (n threads in one block or more).
void device_expf(const float* in, float* out, int n, cudaStream_t stream);
// fill_iota over 32 floats in one block of 32 threads that asks for `shared_bytes` of dynamic
// shared memory.
void fill_with_dynamic_shared(float* out, std::size_t shared_bytes, cudaStream_t stream);
// Copies `n` floats through dynamic shared memory, reporting what it held before the write.
void through_dynamic_shared(const float* in, float* out, float* before, int n, cudaStream_t stream);

}  // namespace myelin::kernels::emulator_test
