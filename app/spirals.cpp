// The spirals data set.
#include "myelin/app/spirals.hpp"

#include <cmath>

#include "myelin/error.hpp"
#include "myelin/random.hpp"

namespace myelin {

Dataset make_spirals(std::int64_t points_per_class, std::int64_t classes, double turns,
                     double noise, std::uint64_t seed) {
  if (points_per_class <= 0 || classes <= 0) {
    fail("make_spirals: points_per_class and classes must be positive, got ", points_per_class,
         " and ", classes);
  }
  if (!(turns > 0.0) || !(noise >= 0.0)) {
    fail("make_spirals: turns must be positive and noise non-negative, got ", turns, " and ",
         noise);
  }
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  const std::int64_t n = points_per_class * classes;
  Dataset d{Tensor::empty(Shape{n, 2}, DType::kFloat32), Tensor::empty(Shape{n}, DType::kInt64)};
  float* x = d.x.data<float>();
  std::int64_t* y = d.y.data<std::int64_t>();
  Rng rng(seed, stable_id("spirals"));
  for (std::int64_t c = 0; c < classes; ++c) {
    for (std::int64_t i = 0; i < points_per_class; ++i) {
      const std::int64_t row = c * points_per_class + i;
      // Radius grows from 0.05 so the arms do not all meet in one point at the centre.
      const double t = static_cast<double>(i) / static_cast<double>(points_per_class);
      const double radius = 0.05 + 0.95 * t;
      const double angle = kTwoPi * (turns * t + static_cast<double>(c) / classes);
      x[row * 2 + 0] = static_cast<float>(radius * std::cos(angle) + noise * rng.normal());
      x[row * 2 + 1] = static_cast<float>(radius * std::sin(angle) + noise * rng.normal());
      y[row] = c;
    }
  }
  return d;
}

}  // namespace myelin
