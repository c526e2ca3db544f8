#pragma once

// cuDNN as the baseline of the GPU benchmark: the same ops on the same stream and buffers.
// Each call queues one cuDNN routine; the caller times them. Only in builds with a real CUDA
// toolkit and cuDNN (MYELIN_BENCH_CUDNN).

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>

namespace myelin::bench {

class CudnnBaseline {
 public:
  explicit CudnnBaseline(cudaStream_t stream);
  ~CudnnBaseline();
  CudnnBaseline(const CudnnBaseline&) = delete;
  CudnnBaseline& operator=(const CudnnBaseline&) = delete;

  static std::string version();
  // Activations cuDNN has: relu, sigmoid, tanh, elu (alpha 1). False for other names.
  static bool has_activation(const std::string& name);
  void activation_forward(const std::string& name, std::int64_t n, const float* x, float* y);
  void activation_backward(const std::string& name, std::int64_t n, const float* x, const float* y,
                           const float* dy, float* dx);
  void softmax_forward(bool log, std::int64_t rows, std::int64_t cols, const float* x, float* y);
  void softmax_backward(bool log, std::int64_t rows, std::int64_t cols, const float* y,
                        const float* dy, float* dx);
  // Training batch norm of x [n, c, h, w] (h = w = 1: per activation, as for (N, C) inputs):
  // forward with batch statistics and running averages, then backward. `params` holds 8
  // vectors of c floats (scale, bias, running mean and variance, saved mean and inverse std,
  // scale and bias gradients).
  void batch_norm_forward(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                          const float* x, float* y, float* params);
  void batch_norm_backward(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w,
                           const float* x, const float* dy, float* dx, float* params);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace myelin::bench
