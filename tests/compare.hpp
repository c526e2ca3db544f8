#pragma once

// How GPU results are compared with the CPU reference.

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "myelin/myelin.hpp"

namespace myelin::test {

// max |a - b| / max |b|, or infinity on a NaN/Inf mismatch.
inline double normalised_error(const Tensor& gpu, const Tensor& cpu, std::string& why) {
  const std::vector<double> a = gpu.to_vector<double>(), b = cpu.to_vector<double>();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // NaN matches NaN, and an infinity only the infinity of the same sign.
    const bool same_kind = std::isnan(a[i]) == std::isnan(b[i]) &&
                           std::isinf(a[i]) == std::isinf(b[i]) &&
                           (!std::isinf(a[i]) || std::signbit(a[i]) == std::signbit(b[i]));
    if (!same_kind) {
      why = "NaN/Inf mismatch at element " + std::to_string(i) + ": " + std::to_string(a[i]) +
            " vs " + std::to_string(b[i]);
      return INFINITY;
    }
    if (!std::isfinite(b[i])) continue;
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

}  // namespace myelin::test
