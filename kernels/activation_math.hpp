#pragma once

// The elementwise activations: their list and their scalar math, following
// torch.nn.functional. The CPU reference path instantiates the math in float and double, the
// CUDA kernels in float, so both backends evaluate the same formulas. Elementary functions come
// from device_math.hpp (the device's own on a GPU and on the emulated device).
//
// Adding an activation: a line in MYELIN_ACTIVATIONS, its forward and backward cases below,
// and its registration (name, attributes, kink) in engine/ops/activation.cpp. The CPU loops,
// the kernels (one instantiation per kind), the op table, specs and tests follow from these.

#include <cmath>

#include "device_math.hpp"
#include "myelin/host_device.hpp"

// X(kind) for every activation, in op-table order.
#define MYELIN_ACTIVATIONS(X) \
  X(kIdentity)                \
  X(kRelu)                    \
  X(kLeakyRelu)               \
  X(kSigmoid)                 \
  X(kTanh)                    \
  X(kElu)                     \
  X(kAbs)                     \
  X(kGelu)                    \
  X(kSilu)                    \
  X(kSoftplus)

namespace myelin {

enum class Activation {
#define MYELIN_ACTIVATION_ENUMERATOR(kind) kind,
  MYELIN_ACTIVATIONS(MYELIN_ACTIVATION_ENUMERATOR)
#undef MYELIN_ACTIVATION_ENUMERATOR
};

#define MYELIN_ACTIVATION_COUNT(kind) +1
inline constexpr int kNumActivations = 0 MYELIN_ACTIVATIONS(MYELIN_ACTIVATION_COUNT);
#undef MYELIN_ACTIVATION_COUNT

inline constexpr int kMaxActivationAttrs = 3;

// An activation's attributes as numbers, in the order its registration lists them (a choice
// among strings as its index, a flag as 0 or 1): read once per launch.
struct ActivationParams {
  double attr[kMaxActivationAttrs] = {};
};

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
    case Activation::kLeakyRelu:   // negative_slope
      return x > T(0) ? x : static_cast<T>(p.attr[0]) * x;
    case Activation::kSigmoid:
      return stable_sigmoid(x);
    case Activation::kTanh:
      return dmath::tanh(x);
    case Activation::kElu:  // alpha
      return x > T(0) ? x : static_cast<T>(p.attr[0]) * dmath::expm1(x);
    case Activation::kAbs:
      return std::abs(x);
    case Activation::kGelu: {  // approximate: "none" (0) or "tanh" (1)
      using C = GeluConstants<T>;
      if (p.attr[0] != 0.0) {
        const T inner = C::kSqrt2OverPi * (x + C::kCubic * x * x * x);
        return T(0.5) * x * (T(1) + dmath::tanh(inner));
      }
      return T(0.5) * x * (T(1) + dmath::erf(x * C::kInvSqrt2));
    }
    case Activation::kSilu:
      return x * stable_sigmoid(x);
    case Activation::kSoftplus: {  // beta, threshold
      const T beta = static_cast<T>(p.attr[0]);
      const T bx = beta * x;
      // Above the threshold softplus is x to within exp(-threshold): PyTorch returns x there.
      return bx > static_cast<T>(p.attr[1]) ? x : dmath::log1p(dmath::exp(bx)) / beta;
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
      return x > T(0) ? g : g * static_cast<T>(p.attr[0]);
    case Activation::kSigmoid:
      return g * y * (T(1) - y);
    case Activation::kTanh:
      return g * (T(1) - y * y);
    case Activation::kElu:
      return x > T(0) ? g : g * static_cast<T>(p.attr[0]) * dmath::exp(x);
    case Activation::kAbs:
      return x > T(0) ? g : (x < T(0) ? -g : T(0));
    case Activation::kGelu: {
      using C = GeluConstants<T>;
      if (p.attr[0] != 0.0) {
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
      const T beta = static_cast<T>(p.attr[0]);
      const T bx = beta * x;
      return bx > static_cast<T>(p.attr[1]) ? g : g * stable_sigmoid(bx);
    }
  }
  return g;
}

}  // namespace myelin
