#include "myelin/data.hpp"

#include <cmath>

#include "myelin/error.hpp"
#include "myelin/random.hpp"

#include "backends/backend.hpp"

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

double accuracy(const Tensor& logits, const Tensor& labels) {
  if (logits.shape().rank() != 2 || labels.shape() != Shape{logits.shape()[0]}) {
    fail("accuracy: expected logits [N, C] and labels [N], got ", logits.shape().str(), " and ",
         labels.shape().str());
  }
  const std::int64_t n = logits.shape()[0];
  const std::int64_t classes = logits.shape()[1];
  if (n == 0) return 0.0;
  if (labels.dtype() != DType::kInt64 && labels.dtype() != DType::kInt32) {
    fail("accuracy: labels must be int32 or int64, got ", dtype_name(labels.dtype()));
  }
  if (logits.device().is_cuda()) {  // counted on the device, only the count comes back
    return static_cast<double>(backend::count_correct_on_device(logits, labels)) /
           static_cast<double>(n);
  }
  const std::vector<double> z = logits.to_vector<double>();
  const std::vector<std::int64_t> y = labels.to_vector<std::int64_t>();
  std::int64_t correct = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    std::int64_t best = 0;
    for (std::int64_t c = 1; c < classes; ++c) {
      if (z[static_cast<std::size_t>(r * classes + c)] >
          z[static_cast<std::size_t>(r * classes + best)])
        best = c;
    }
    correct += best == y[static_cast<std::size_t>(r)] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace myelin
