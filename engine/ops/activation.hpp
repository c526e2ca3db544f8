#pragma once

#include "myelin/attrs.hpp"

namespace myelin {

// The elementwise activations. One enum, so that backends implement them as one family.
enum class Activation {
  kIdentity,
  kRelu,
  kLeakyRelu,
  kSigmoid,
  kTanh,
  kElu,
  kAbs,
  kGelu,
  kSilu,
  kSoftplus,
};

// Attributes of an activation, read once per launch.
struct ActivationParams {
  double a = 0.0;            // leaky_relu: negative_slope; elu: alpha; softplus: beta
  double b = 0.0;            // softplus: threshold
  bool approximate = false;  // gelu: tanh approximation
};

ActivationParams activation_params(Activation kind, const Attrs& attrs);

}  // namespace myelin
