#pragma once

// A CUDA stream and the device it belongs to, shared by everything ordered on it: an executor's
// device context, and the device memory allocated on it, which is freed on it (in stream order)
// even after the executor is gone. Streams are non-blocking: nothing is ordered by the legacy
// default stream, every dependency between streams is explicit.

#include <cuda_runtime_api.h>

namespace myelin::cuda {

class Stream {
 public:
  // A new non-blocking stream on `device`.
  explicit Stream(int device);
  // Waits for the stream's work, then destroys it.
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  int device() const { return device_; }
  cudaStream_t get() const { return stream_; }

 private:
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
};

}  // namespace myelin::cuda
