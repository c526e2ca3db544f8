#pragma once

// Scalar activation math, following torch.nn.functional: the CPU reference path instantiates
// it in float and double, the CUDA kernels in float, so both backends evaluate the same
// formulas. Elementary functions come from kernels/device_math.hpp (the device's own on a GPU
// and on the emulated device).

#include <cmath>

#include "kernels/device_math.hpp"
#include "myelin/host_device.hpp"
#include "ops/activation.hpp"

namespace myelin {

template <typename T>
MYELIN_HOST_DEVICE inline T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + dmath::exp(-x));
  const T e = dmath::exp(x);
  return e / (T(1) + e);
}

template <typename T>
struct GeluConstants {
  static constexpr T kInvSqrt2 = T(0.70710678118654752440084436210485);
  static constexpr T kInvSqrt2Pi = T(0.39894228040143267793994605993438);
  static constexpr T kSqrt2OverPi = T(0.79788456080286535587989211986876);
  static constexpr T kCubic = T(0.044715);
};

template <typename T>
MYELIN_HOST_DEVICE inline T activation_forward(Activation kind, T x, const ActivationParams& p) {
  switch (kind) {
    case Activation::kIdentity:
      return x;
    case Activation::kRelu:
      return x < T(0) ? T(0) : x;  // NaN stays NaN, as in PyTorch
    case Activation::kLeakyRelu:
      return x > T(0) ? x : static_cast<T>(p.a) * x;
    case Activation::kSigmoid:
      return stable_sigmoid(x);
    case Activation::kTanh:
      return dmath::tanh(x);
    case Activation::kElu:
      return x > T(0) ? x : static_cast<T>(p.a) * dmath::expm1(x);
    case Activation::kAbs:
      return std::abs(x);
    case Activation::kGelu: {
      using C = GeluConstants<T>;
      if (p.approximate) {
        const T inner = C::kSqrt2OverPi * (x + C::kCubic * x * x * x);
        return T(0.5) * x * (T(1) + dmath::tanh(inner));
      }
      return T(0.5) * x * (T(1) + dmath::erf(x * C::kInvSqrt2));
    }
    case Activation::kSilu:
      return x * stable_sigmoid(x);
    case Activation::kSoftplus: {
      const T beta = static_cast<T>(p.a);
      const T bx = beta * x;
      // Above the threshold softplus is x to within exp(-threshold): PyTorch returns x there.
      return bx > static_cast<T>(p.b) ? x : dmath::log1p(dmath::exp(bx)) / beta;
    }
  }
  return x;
}

// d(activation)/dx at x (y is the forward output at x) times the incoming gradient g.
template <typename T>
MYELIN_HOST_DEVICE inline T activation_backward(Activation kind, T x, T y, T g,
                                                const ActivationParams& p) {
  switch (kind) {
    case Activation::kIdentity:
      return g;
    case Activation::kRelu:
      return x > T(0) ? g : T(0);
    case Activation::kLeakyRelu:
      return x > T(0) ? g : g * static_cast<T>(p.a);
    case Activation::kSigmoid:
      return g * y * (T(1) - y);
    case Activation::kTanh:
      return g * (T(1) - y * y);
    case Activation::kElu:
      return x > T(0) ? g : g * static_cast<T>(p.a) * dmath::exp(x);
    case Activation::kAbs:
      return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case Activation::kGelu: {
      using C = GeluConstants<T>;
      if (p.approximate) {
        const T x2 = x * x;
        const T t = dmath::tanh(C::kSqrt2OverPi * (x + C::kCubic * x2 * x));
        const T dinner = C::kSqrt2OverPi * (T(1) + T(3) * C::kCubic * x2);
        return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner);
      }
      const T cdf = T(0.5) * (T(1) + dmath::erf(x * C::kInvSqrt2));
      const T pdf = C::kInvSqrt2Pi * dmath::exp(T(-0.5) * x * x);
      return g * (cdf + x * pdf);
    }
    case Activation::kSilu: {
      const T s = stable_sigmoid(x);
      return g * s * (T(1) + x * (T(1) - s));
    }
    case Activation::kSoftplus: {
      const T beta = static_cast<T>(p.a);
      const T bx = beta * x;
      return bx > static_cast<T>(p.b) ? g : g * stable_sigmoid(bx);
    }
  }
  return g;
}

}  // namespace myelin
