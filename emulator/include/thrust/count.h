#pragma once

// The emulated device's stand-in for thrust::count_if on the CUDA system, behaving as Thrust's
// does: temporary device memory from the stream-ordered allocator (failure throws
// thrust::system::detail::bad_alloc), a kernel on the policy's stream (one block per chunk of
// the range, a count per block), then a blocking copy of the counts to the host; a CUDA failure
// throws thrust::system_error with its code.

#include <cstdint>
#include <string>
#include <vector>

#include "cuda_runtime.h"
#include "thrust/system/cuda/execution_policy.h"
#include "thrust/system_error.h"

namespace thrust {

namespace emulated_detail {

template <typename Iterator, typename Predicate>
void count_kernel(Iterator first, long long n, Predicate pred, unsigned long long* counts) {
  static const char key = 0;
  unsigned long long& block_count = ::myelin::emu::block_shared<unsigned long long>(&key);
  if (threadIdx.x == 0) block_count = 0;
  __syncthreads();
  const long long stride = static_cast<long long>(gridDim.x) * blockDim.x;
  unsigned long long mine = 0;
  for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    mine += pred(first[i]) ? 1 : 0;
  }
  atomicAdd(&block_count, mine);
  __syncthreads();
  if (threadIdx.x == 0) counts[blockIdx.x] = block_count;
}

inline void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw system_error(static_cast<int>(status),
                       std::string(what) + ": " + cudaGetErrorString(status));
  }
}

}  // namespace emulated_detail

template <typename Iterator, typename Predicate>
typename Iterator::difference_type count_if(const cuda::par_t& policy, Iterator first,
                                            Iterator last, Predicate pred) {
  using emulated_detail::check;
  const long long n = static_cast<long long>(last - first);
  if (n <= 0) return 0;
  const unsigned blocks = static_cast<unsigned>(n / 256 + 1 < 1024 ? n / 256 + 1 : 1024);
  unsigned long long* counts = nullptr;
  const cudaError_t alloc = cudaMallocAsync(reinterpret_cast<void**>(&counts),
                                            blocks * sizeof(unsigned long long), policy.stream);
  if (alloc == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw system::detail::bad_alloc("count_if: temporary storage: out of memory");
  }
  check(alloc, "count_if: temporary storage");
  ::myelin::emu::launch(
      "thrust::count_if", dim3(blocks), dim3(256), 0, policy.stream,
      [](auto f, long long size, auto p, unsigned long long* out) {
        emulated_detail::count_kernel(f, size, p, out);
      },
      first, n, pred, counts);
  check(cudaGetLastError(), "count_if: launch");
  std::vector<unsigned long long> host(blocks);
  check(cudaMemcpyAsync(host.data(), counts, blocks * sizeof(unsigned long long),
                        cudaMemcpyDeviceToHost, policy.stream),
        "count_if: copy");
  check(cudaFreeAsync(counts, policy.stream), "count_if: free");
  unsigned long long total = 0;
  for (unsigned long long c : host) total += c;
  return static_cast<typename Iterator::difference_type>(total);
}

}  // namespace thrust
