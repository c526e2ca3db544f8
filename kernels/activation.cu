// Elementwise activations, forward and backward.
//
// Work mapping: a grid-stride loop, one thread per float4 (16-byte loads and stores) when all
// pointers are 16-byte aligned, then one thread per element of the n % 4 tail; otherwise one
// thread per element. The grid is capped at a few blocks per SM (launch::elementwise) and the
// stride loop covers the rest, so every launch stays small and fully occupied. The activation is
// a template parameter: each kernel is a straight-line function of its element with no branch
// on the kind. The scalar math is activation_math.hpp, shared with the CPU reference path.
#include "activation.hpp"

#include "activation_math.hpp"
#include "common.cuh"

namespace myelin::kernels {

namespace {

template <Activation K>
__global__ void activation_forward_kernel(ActivationParams p, const float* __restrict__ x,
                                          float* __restrict__ y, std::int64_t n, bool vectorized) {
  std::int64_t tail_start = 0;
  if (vectorized) {
    const std::int64_t vectors = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (std::int64_t i = global_thread(); i < vectors; i += grid_stride()) {
      const float4 v = x4[i];
      y4[i] = make_float4(activation_forward(K, v.x, p), activation_forward(K, v.y, p),
                          activation_forward(K, v.z, p), activation_forward(K, v.w, p));
    }
    tail_start = vectors * 4;
  }
  for (std::int64_t i = tail_start + global_thread(); i < n; i += grid_stride()) {
    y[i] = activation_forward(K, x[i], p);
  }
}

// dy and dx may be the same memory (the memory plan runs this backward in place), so they are
// not __restrict__: each thread reads its elements of dy before it writes the same ones of dx.
template <Activation K>
__global__ void activation_backward_kernel(ActivationParams p, const float* __restrict__ x,
                                           const float* __restrict__ y, const float* dy, float* dx,
                                           std::int64_t n, bool vectorized) {
  std::int64_t tail_start = 0;
  if (vectorized) {
    const std::int64_t vectors = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const float4* y4 = reinterpret_cast<const float4*>(y);
    const float4* g4 = reinterpret_cast<const float4*>(dy);
    float4* d4 = reinterpret_cast<float4*>(dx);
    for (std::int64_t i = global_thread(); i < vectors; i += grid_stride()) {
      const float4 a = x4[i], b = y4[i], g = g4[i];
      d4[i] = make_float4(
          activation_backward(K, a.x, b.x, g.x, p), activation_backward(K, a.y, b.y, g.y, p),
          activation_backward(K, a.z, b.z, g.z, p), activation_backward(K, a.w, b.w, g.w, p));
    }
    tail_start = vectors * 4;
  }
  for (std::int64_t i = tail_start + global_thread(); i < n; i += grid_stride()) {
    dx[i] = activation_backward(K, x[i], y[i], dy[i], p);
  }
}

template <Activation K>
void forward_as(const ActivationParams& p, const float* x, float* y, std::int64_t n, bool vec,
                int blocks, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(activation_forward_kernel<K>, blocks, 256, 0, stream, p, x, y, n, vec);
}

template <Activation K>
void backward_as(const ActivationParams& p, const float* x, const float* y, const float* dy,
                 float* dx, std::int64_t n, bool vec, int blocks, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(activation_backward_kernel<K>, blocks, 256, 0, stream, p, x, y, dy, dx, n,
                       vec);
}

// Calls fn.template operator()<K>() for the runtime kind: one instantiation per activation.
template <typename Fn>
void with_kind(Activation kind, Fn&& fn) {
  switch (kind) {
#define MYELIN_ACTIVATION_CASE(k)            \
  case Activation::k:                        \
    fn.template operator()<Activation::k>(); \
    break;
    MYELIN_ACTIVATIONS(MYELIN_ACTIVATION_CASE)
#undef MYELIN_ACTIVATION_CASE
  }
}

struct ForwardLaunch {
  const ActivationParams& p;
  const float* x;
  float* y;
  std::int64_t n;
  bool vec;
  int blocks;
  cudaStream_t stream;
  template <Activation K>
  void operator()() const {
    forward_as<K>(p, x, y, n, vec, blocks, stream);
  }
};

struct BackwardLaunch {
  const ActivationParams& p;
  const float *x, *y, *dy;
  float* dx;
  std::int64_t n;
  bool vec;
  int blocks;
  cudaStream_t stream;
  template <Activation K>
  void operator()() const {
    backward_as<K>(p, x, y, dy, dx, n, vec, blocks, stream);
  }
};

}  // namespace

cudaError_t launch_activation_forward(Activation kind, const ActivationParams& params,
                                      const float* x, float* y, std::int64_t n, bool vectorized,
                                      int blocks, cudaStream_t stream) {
  if (n == 0) return cudaGetLastError();
  with_kind(kind, ForwardLaunch{params, x, y, n, vectorized, blocks, stream});
  return cudaGetLastError();
}

cudaError_t launch_activation_backward(Activation kind, const ActivationParams& params,
                                       const float* x, const float* y, const float* dy, float* dx,
                                       std::int64_t n, bool vectorized, int blocks,
                                       cudaStream_t stream) {
  if (n == 0) return cudaGetLastError();
  with_kind(kind, BackwardLaunch{params, x, y, dy, dx, n, vectorized, blocks, stream});
  return cudaGetLastError();
}

}  // namespace myelin::kernels
