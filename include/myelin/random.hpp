#pragma once

#include <cstdint>

#include "myelin/export.hpp"
#include "myelin/philox.hpp"

namespace myelin {

// A host-side sequential view of one Philox stream: draw k is word k % 4 of block k / 4, the
// same layout the kernels index directly. Copyable; two copies continue identically.
class MYELIN_API Rng {
 public:
  explicit Rng(std::uint64_t seed, std::uint32_t stream = 0, std::uint64_t step = 0)
      : seed_(seed), stream_(stream), step_(step) {}

  std::uint32_t next_u32();
  // [0, 1), integer-only conversion (host/device identical).
  float uniform_float();
  // [0, 1) with 53 random bits.
  double uniform();
  // Uniform in [low, high).
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Standard normal by Box-Muller (host only: uses log and cos).
  double normal();
  // Uniform integer in [0, n) without modulo bias.
  std::uint64_t below(std::uint64_t n);

  std::uint64_t position() const { return position_; }

 private:
  std::uint64_t seed_;
  std::uint32_t stream_;
  std::uint64_t step_;
  std::uint64_t position_ = 0;
  PhiloxWords block_{};
  std::uint64_t cached_block_ = ~std::uint64_t{0};
};

}  // namespace myelin
