#pragma once

// Generated data for examples and tests: the spirals classification problem.

#include <cstdint>

#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

struct Dataset {
  Tensor x;  // [N, features] float32
  Tensor y;  // [N] int64 class labels
};

// Interleaved spirals in the plane, one arm per class (the classic "two spirals" problem for
// classes = 2). Arm c winds `turns` times from the centre outwards, rotated by 2*pi*c/classes;
// Gaussian noise of standard deviation `noise` is added to both coordinates. Deterministic for
// a seed.
MYELIN_API Dataset make_spirals(std::int64_t points_per_class, std::int64_t classes = 2,
                                double turns = 1.5, double noise = 0.02, std::uint64_t seed = 0);

}  // namespace myelin
