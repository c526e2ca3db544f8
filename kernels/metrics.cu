// Accuracy counting with Thrust: a generic count_if over the row indices, each row's argmax
// taken by the thread that tests it. Thrust lives only in this file (it is slow to compile) and
// in no header the engine includes.
//
// Work mapping: Thrust's count_if maps one row per thread and reduces the matches with its own
// integer reduction (integer sums are exact: the count is the same whatever the order).
#include <thrust/count.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>

#include <new>

#include "metrics.hpp"

namespace myelin::kernels {

namespace {

template <typename Label>
struct RowIsCorrect {
  const float* logits;
  const Label* labels;
  std::int64_t classes;
  __device__ bool operator()(std::int64_t row) const {
    const float* z = logits + row * classes;
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c) {
      if (z[c] > z[best]) best = c;
    }
    return best == static_cast<std::int64_t>(labels[row]);
  }
};

template <typename Label>
std::int64_t count_typed(const float* logits, const Label* labels, std::int64_t rows,
                         std::int64_t classes, cudaStream_t stream) {
  const thrust::counting_iterator<std::int64_t> first(0);
  return thrust::count_if(thrust::cuda::par.on(stream), first, first + rows,
                          RowIsCorrect<Label>{logits, labels, classes});
}

}  // namespace

std::int64_t count_correct(const float* logits, const void* labels, bool labels_int64,
                           std::int64_t rows, std::int64_t classes, cudaStream_t stream,
                           cudaError_t* status) {
  *status = cudaSuccess;
  if (rows == 0 || classes == 0) return 0;
  try {
    const std::int64_t n =
        labels_int64
            ? count_typed(logits, static_cast<const std::int64_t*>(labels), rows, classes, stream)
            : count_typed(logits, static_cast<const std::int32_t*>(labels), rows, classes, stream);
    *status = cudaGetLastError();
    return n;
  } catch (const thrust::system_error& e) {
    *status = static_cast<cudaError_t>(e.code().value());
    return 0;
  } catch (const std::bad_alloc&) {  // Thrust's temporary storage (thrust's bad_alloc is one)
    *status = cudaErrorMemoryAllocation;
    return 0;
  }
}

}  // namespace myelin::kernels
