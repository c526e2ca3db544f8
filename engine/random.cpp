#include "myelin/random.hpp"

#include <cmath>

#include "myelin/error.hpp"

namespace myelin {

std::uint32_t Rng::next_u32() {
  const std::uint64_t block = position_ / 4;
  if (block != cached_block_) {
    block_ = philox_block(seed_, stream_, step_, block);
    cached_block_ = block;
  }
  const std::uint32_t word = block_.w[position_ % 4];
  ++position_;
  return word;
}

float Rng::uniform_float() {
  return myelin::uniform_float(next_u32());
}

double Rng::uniform() {
  const std::uint32_t a = next_u32();
  const std::uint32_t b = next_u32();
  return uniform_double(a, b);
}

double Rng::normal() {
  // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2);
}

std::uint64_t Rng::below(std::uint64_t n) {
  if (n == 0) fail("Rng::below: the range is empty");
  // Rejection sampling on 64-bit draws: the accepted range is a multiple of n.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  for (;;) {
    const std::uint64_t hi = next_u32();
    const std::uint64_t x = (hi << 32) | next_u32();
    if (x < limit) return x % n;
  }
}

}  // namespace myelin
