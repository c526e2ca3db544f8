#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "myelin/myelin.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"
#endif

namespace myelin::test {

// The schedule seeds every GPU kernel test runs under. On the emulated device a seed orders the
// threads between barriers (and the blocks), so a missing barrier or __syncwarp changes bits
// between them; on a real GPU the runs are plain repeats, which must give the same bits too.
inline std::vector<std::uint64_t> schedule_seeds() {
  return {1, 2};
}

// Sets the emulated device's schedule seed for a scope (nothing on a real GPU).
class ScheduleSeed {
 public:
  explicit ScheduleSeed(std::uint64_t seed) {
#if defined(MYELIN_EMULATED_DEVICE)
    saved_ = emu::schedule_seed();
    emu::set_schedule_seed(seed);
#else
    (void)seed;
#endif
  }
  ~ScheduleSeed() {
#if defined(MYELIN_EMULATED_DEVICE)
    emu::set_schedule_seed(saved_);
#endif
  }
  ScheduleSeed(const ScheduleSeed&) = delete;
  ScheduleSeed& operator=(const ScheduleSeed&) = delete;

 private:
  std::uint64_t saved_ = 0;
};

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
