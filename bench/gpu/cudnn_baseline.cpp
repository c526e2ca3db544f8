#include "cudnn_baseline.hpp"

#include <cudnn.h>

#include "myelin/error.hpp"

namespace myelin::bench {

namespace {

void check(cudnnStatus_t status, const char* what) {
  if (status != CUDNN_STATUS_SUCCESS) {
    fail("cuDNN ", what, " failed: ", cudnnGetErrorString(status));
  }
}

int narrow(std::int64_t v) {
  if (v > 0x7fffffff) fail("cuDNN baseline: dimension ", v, " exceeds int");
  return static_cast<int>(v);
}

}  // namespace

struct CudnnBaseline::State {
  cudnnHandle_t handle = nullptr;
  cudnnTensorDescriptor_t x = nullptr, bn = nullptr;
  cudnnActivationDescriptor_t act = nullptr;

  void set_x(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) {
    check(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, narrow(n), narrow(c),
                                     narrow(h), narrow(w)),
          "cudnnSetTensor4dDescriptor");
  }
  // An n-element tensor as [n / 4096 (or 1), ...]: cuDNN's dimensions are ints.
  void set_flat(std::int64_t n) {
    if (n % 4096 == 0) {
      set_x(n / 4096, 4096, 1, 1);
    } else {
      set_x(1, n, 1, 1);
    }
  }
  // x as [n, c, h, w] and the statistics' descriptor: per activation for (N, C), spatial else.
  cudnnBatchNormMode_t set_batch_norm(std::int64_t n, std::int64_t c, std::int64_t h,
                                      std::int64_t w) {
    const cudnnBatchNormMode_t mode =
        h == 1 && w == 1 ? CUDNN_BATCHNORM_PER_ACTIVATION : CUDNN_BATCHNORM_SPATIAL;
    set_x(n, c, h, w);
    check(cudnnDeriveBNTensorDescriptor(bn, x, mode), "cudnnDeriveBNTensorDescriptor");
    return mode;
  }
  void set_act(const std::string& name) {
    cudnnActivationMode_t mode = CUDNN_ACTIVATION_RELU;
    if (name == "sigmoid") mode = CUDNN_ACTIVATION_SIGMOID;
    if (name == "tanh") mode = CUDNN_ACTIVATION_TANH;
    if (name == "elu") mode = CUDNN_ACTIVATION_ELU;
    check(cudnnSetActivationDescriptor(act, mode, CUDNN_NOT_PROPAGATE_NAN, 1.0),
          "cudnnSetActivationDescriptor");
  }
};

CudnnBaseline::CudnnBaseline(cudaStream_t stream) : state_(std::make_unique<State>()) {
  check(cudnnCreate(&state_->handle), "cudnnCreate");
  check(cudnnSetStream(state_->handle, stream), "cudnnSetStream");
  check(cudnnCreateTensorDescriptor(&state_->x), "cudnnCreateTensorDescriptor");
  check(cudnnCreateTensorDescriptor(&state_->bn), "cudnnCreateTensorDescriptor");
  check(cudnnCreateActivationDescriptor(&state_->act), "cudnnCreateActivationDescriptor");
}

CudnnBaseline::~CudnnBaseline() {
  cudnnDestroyActivationDescriptor(state_->act);
  cudnnDestroyTensorDescriptor(state_->bn);
  cudnnDestroyTensorDescriptor(state_->x);
  cudnnDestroy(state_->handle);
}

std::string CudnnBaseline::version() {
  const std::size_t v = cudnnGetVersion();
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

bool CudnnBaseline::has_activation(const std::string& name) {
  return name == "relu" || name == "sigmoid" || name == "tanh" || name == "elu";
}

void CudnnBaseline::activation_forward(const std::string& name, std::int64_t n, const float* x,
                                       float* y) {
  const float one = 1.0f, zero = 0.0f;
  state_->set_flat(n);
  state_->set_act(name);
  check(
      cudnnActivationForward(state_->handle, state_->act, &one, state_->x, x, &zero, state_->x, y),
      "cudnnActivationForward");
}

void CudnnBaseline::activation_backward(const std::string& name, std::int64_t n, const float* x,
                                        const float* y, const float* dy, float* dx) {
  const float one = 1.0f, zero = 0.0f;
  state_->set_flat(n);
  state_->set_act(name);
  check(cudnnActivationBackward(state_->handle, state_->act, &one, state_->x, y, state_->x, dy,
                                state_->x, x, &zero, state_->x, dx),
        "cudnnActivationBackward");
}

void CudnnBaseline::softmax_forward(bool log, std::int64_t rows, std::int64_t cols, const float* x,
                                    float* y) {
  const float one = 1.0f, zero = 0.0f;
  state_->set_x(rows, cols, 1, 1);
  check(cudnnSoftmaxForward(state_->handle, log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                            CUDNN_SOFTMAX_MODE_INSTANCE, &one, state_->x, x, &zero, state_->x, y),
        "cudnnSoftmaxForward");
}

void CudnnBaseline::softmax_backward(bool log, std::int64_t rows, std::int64_t cols, const float* y,
                                     const float* dy, float* dx) {
  const float one = 1.0f, zero = 0.0f;
  state_->set_x(rows, cols, 1, 1);
  check(cudnnSoftmaxBackward(state_->handle, log ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                             CUDNN_SOFTMAX_MODE_INSTANCE, &one, state_->x, y, state_->x, dy, &zero,
                             state_->x, dx),
        "cudnnSoftmaxBackward");
}

void CudnnBaseline::batch_norm_forward(std::int64_t n, std::int64_t c, std::int64_t h,
                                       std::int64_t w, const float* x, float* y, float* params) {
  const float one = 1.0f, zero = 0.0f;
  const cudnnBatchNormMode_t mode = state_->set_batch_norm(n, c, h, w);
  float* p[8];
  for (int k = 0; k < 8; ++k) p[k] = params + k * c;
  check(cudnnBatchNormalizationForwardTraining(state_->handle, mode, &one, &zero, state_->x, x,
                                               state_->x, y, state_->bn, p[0], p[1], 0.1, p[2],
                                               p[3], 1e-5, p[4], p[5]),
        "cudnnBatchNormalizationForwardTraining");
}

void CudnnBaseline::batch_norm_backward(std::int64_t n, std::int64_t c, std::int64_t h,
                                        std::int64_t w, const float* x, const float* dy, float* dx,
                                        float* params) {
  const float one = 1.0f, zero = 0.0f;
  const cudnnBatchNormMode_t mode = state_->set_batch_norm(n, c, h, w);
  float* p[8];
  for (int k = 0; k < 8; ++k) p[k] = params + k * c;
  check(cudnnBatchNormalizationBackward(state_->handle, mode, &one, &zero, &one, &zero, state_->x,
                                        x, state_->x, dy, state_->x, dx, state_->bn, p[0], p[6],
                                        p[7], 1e-5, p[4], p[5]),
        "cudnnBatchNormalizationBackward");
}

}  // namespace myelin::bench
