#pragma once

// The activation ops: their math and list are kernels/activation_math.hpp, their registration
// (names, attributes, kinks) engine/ops/activation.cpp.

#include "kernels/activation_math.hpp"
#include "myelin/attrs.hpp"

namespace myelin {

// A node's attributes as the math reads them (see ActivationParams).
ActivationParams activation_params(Activation kind, const Attrs& attrs);

}  // namespace myelin
