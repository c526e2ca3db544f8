#pragma once

// Launchers of the metric kernels (kernels/metrics.cu).

#include <cuda_runtime_api.h>

#include <cstdint>

namespace myelin::kernels {

// Rows of logits [rows, classes] whose largest entry (the first, on ties) is at the label.
// Labels are int32 or int64. Waits for the stream (the count is returned to the host); writes
// the CUDA status to *status.
std::int64_t count_correct(const float* logits, const void* labels, bool labels_int64,
                           std::int64_t rows, std::int64_t classes, cudaStream_t stream,
                           cudaError_t* status);

}  // namespace myelin::kernels
