#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "myelin/myelin.hpp"

namespace myelin::test {

// Uniform values in [low, high), float64 unless told otherwise, from a fixed seed.
inline Tensor random_tensor(const Shape& shape, std::uint64_t seed, double low = -1.0,
                            double high = 1.0, DType dtype = DType::kFloat64) {
  Tensor t = Tensor::empty(shape, DType::kFloat64);
  Rng rng(seed, 77);
  double* p = t.data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = rng.uniform(low, high);
  return t.to(dtype);
}

// Standard-normal values (host Box-Muller), float64.
inline Tensor normal_tensor(const Shape& shape, std::uint64_t seed, double stddev = 1.0) {
  Tensor t = Tensor::empty(shape, DType::kFloat64);
  Rng rng(seed, 78);
  double* p = t.data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = stddev * rng.normal();
  return t;
}

// Integer labels in [0, classes).
inline Tensor random_labels(std::int64_t n, std::int64_t classes, std::uint64_t seed,
                            DType dtype = DType::kInt64) {
  Tensor t = Tensor::empty(Shape{n}, DType::kInt64);
  Rng rng(seed, 79);
  for (std::int64_t i = 0; i < n; ++i) {
    t.data<std::int64_t>()[i] =
        static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(classes)));
  }
  return t.to(dtype);
}

// The message of the myelin::Error that `fn` throws, or "" if it throws none.
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace myelin::test

// GPU tests skip where no GPU is usable (counted as skipped by ctest); with MYELIN_REQUIRE_GPU=1
// (tools/gpu-check) a missing GPU fails them instead.
#define MYELIN_REQUIRE_GPU()                                              \
  do {                                                                    \
    if (!::myelin::cuda_available()) {                                    \
      if (std::getenv("MYELIN_REQUIRE_GPU") != nullptr) {                 \
        FAIL() << "no usable CUDA device, and MYELIN_REQUIRE_GPU is set"; \
      }                                                                   \
      GTEST_SKIP() << "no usable CUDA device";                            \
    }                                                                     \
  } while (0)
