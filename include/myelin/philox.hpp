#pragma once

// Philox4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3" (SC'11). One header for host and device: the same (key, counter) gives the
// same four words everywhere. Uniform draws and dropout masks below use integer arithmetic
// only (a 24- or 53-bit integer scaled by a power of two is exact), so CPU and GPU agree bit
// for bit. Normal draws need log and cos, whose last bit differs between math libraries: they
// are made on the host only.
//
// Counter layout used across myelin, so that any element's draw is a pure function of where
// it is used:   key = (seed_lo, seed_hi ^ step_hi)
//               counter = (block_lo, block_hi, stream, step_lo)
// where `stream` names the consumer (a dropout node's id, a parameter's id) and `block` is
// element_index / 4 (each call yields four words; element i takes word i % 4).

#include <cstdint>

#include "myelin/host_device.hpp"

namespace myelin {

struct PhiloxWords {
  std::uint32_t w[4];
};

namespace philox_detail {
inline constexpr std::uint32_t kMul0 = 0xD2511F53u;
inline constexpr std::uint32_t kMul1 = 0xCD9E8D57u;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9u;  // golden ratio
inline constexpr std::uint32_t kWeyl1 = 0xBB67AE85u;  // sqrt(3) - 1

MYELIN_HOST_DEVICE inline void mul_hi_lo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                                         std::uint32_t& lo) {
#if defined(__CUDA_ARCH__)
  hi = __umulhi(a, b);
  lo = a * b;
#else
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
#endif
}
}  // namespace philox_detail

// The raw bijection: ten rounds over `counter` under `key`.
MYELIN_HOST_DEVICE inline PhiloxWords philox4x32_10(PhiloxWords counter, std::uint32_t key0,
                                                    std::uint32_t key1) {
  using namespace philox_detail;
  std::uint32_t c0 = counter.w[0], c1 = counter.w[1], c2 = counter.w[2], c3 = counter.w[3];
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {  // the key schedule bumps the key before every round but the first
      key0 += kWeyl0;
      key1 += kWeyl1;
    }
    std::uint32_t hi0, lo0, hi1, lo1;
    mul_hi_lo(kMul0, c0, hi0, lo0);
    mul_hi_lo(kMul1, c2, hi1, lo1);
    const std::uint32_t n0 = hi1 ^ c1 ^ key0;
    const std::uint32_t n2 = hi0 ^ c3 ^ key1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

// The four words of block `block` of stream `stream` at step `step`, in myelin's layout.
MYELIN_HOST_DEVICE inline PhiloxWords philox_block(std::uint64_t seed, std::uint32_t stream,
                                                   std::uint64_t step, std::uint64_t block) {
  const PhiloxWords counter{{static_cast<std::uint32_t>(block),
                             static_cast<std::uint32_t>(block >> 32), stream,
                             static_cast<std::uint32_t>(step)}};
  return philox4x32_10(
      counter, static_cast<std::uint32_t>(seed),
      static_cast<std::uint32_t>(seed >> 32) ^ static_cast<std::uint32_t>(step >> 32));
}

// Uniform float in [0, 1) from the top 24 bits: exact, so identical on host and device.
MYELIN_HOST_DEVICE inline float uniform_float(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Uniform double in [0, 1) from 53 bits of two words.
MYELIN_HOST_DEVICE inline double uniform_double(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t bits = (static_cast<std::uint64_t>(a >> 5) << 26) | (b >> 6);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

// Dropout keeps an element when its word is at or above this threshold, so that
// P(drop) = threshold / 2^32 = p (rounded to the nearest 2^-32). Pure integer comparison on
// both sides; p = 1 (drop everything) is handled by the caller.
MYELIN_HOST_DEVICE inline std::uint32_t dropout_threshold(double p) {
  const double scaled = p * 4294967296.0 + 0.5;
  return scaled >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(scaled);
}

// FNV-1a: a stable 32-bit id for a name (a node's, a parameter's), used as a Philox stream.
MYELIN_HOST_DEVICE inline std::uint32_t stable_id(const char* name) {
  std::uint32_t hash = 2166136261u;
  for (; *name != '\0'; ++name) {
    hash ^= static_cast<unsigned char>(*name);
    hash *= 16777619u;
  }
  return hash;
}

}  // namespace myelin
