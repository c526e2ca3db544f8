// Device math of the emulated device (see myelin_emu/math.hpp): host libm, then, inside an
// emulated kernel, an offset of a few units in the last place within the bound the CUDA C++
// Programming Guide gives for the function on the device. The offset is a hash of the function
// and the input bits, so a result never depends on thread order.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "internal.hpp"

namespace myelin::emu::math {

namespace {

enum Fn : std::uint64_t {
  kExpf = 1,
  kExp2f,
  kExpm1f,
  kLogf,
  kLog2f,
  kLog1pf,
  kTanhf,
  kErff,
  kPowf,
  kRsqrtf,
  kExp,
  kExpm1,
  kLog,
  kLog1p,
  kTanh,
  kErf,
  kRsqrt,
  kFastExpf,
  kFastLogf,
  kFastDivf,
  kFastTanhf,
  kFastSinf,
  kFastCosf,
  kFastPowf,
};

std::uint64_t key(Fn fn, float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return (static_cast<std::uint64_t>(fn) << 40) ^ bits;
}

std::uint64_t key(Fn fn, float x, float y) {
  std::uint32_t a, b;
  std::memcpy(&a, &x, sizeof a);
  std::memcpy(&b, &y, sizeof b);
  return (static_cast<std::uint64_t>(fn) << 40) ^ (static_cast<std::uint64_t>(b) << 32 >> 8) ^ a;
}

std::uint64_t key(Fn fn, double x) {
  std::uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return detail::mix(static_cast<std::uint64_t>(fn)) ^ bits;
}

// The offset in ulps for a key: uniform in [-ulps, ulps].
int offset(unsigned long long k, int ulps) {
  if (ulps <= 0) return 0;
  const std::uint64_t h = detail::mix(k ^ 0x5DEECE66Dull);
  return static_cast<int>(h % static_cast<std::uint64_t>(2 * ulps + 1)) - ulps;
}

}  // namespace

float perturb(float exact, unsigned long long k, int ulps) {
  if (!in_device() || !std::isfinite(exact)) return exact;
  int steps = offset(k, ulps);
  float v = exact;
  const float toward = steps > 0 ? INFINITY : -INFINITY;
  for (; steps != 0; steps += steps > 0 ? -1 : 1) {
    const float next = std::nextafter(v, toward);
    if (!std::isfinite(next)) break;
    // Never cross zero: a sign or an exact zero is not within the device's error.
    if ((v > 0.0f && next <= 0.0f) || (v < 0.0f && next >= 0.0f) || v == 0.0f) break;
    v = next;
  }
  return v;
}

double perturb(double exact, unsigned long long k, int ulps) {
  if (!in_device() || !std::isfinite(exact)) return exact;
  int steps = offset(k, ulps);
  double v = exact;
  const double toward = steps > 0 ? INFINITY : -INFINITY;
  for (; steps != 0; steps += steps > 0 ? -1 : 1) {
    const double next = std::nextafter(v, toward);
    if (!std::isfinite(next)) break;
    if ((v > 0.0 && next <= 0.0) || (v < 0.0 && next >= 0.0) || v == 0.0) break;
    v = next;
  }
  return v;
}

float expf(float x) {
  return perturb(std::exp(x), key(kExpf, x), 2);
}
float exp2f(float x) {
  return perturb(std::exp2(x), key(kExp2f, x), 2);
}
float expm1f(float x) {
  return perturb(std::expm1(x), key(kExpm1f, x), 1);
}
float logf(float x) {
  return perturb(std::log(x), key(kLogf, x), 1);
}
float log2f(float x) {
  return perturb(std::log2(x), key(kLog2f, x), 1);
}
float log1pf(float x) {
  return perturb(std::log1p(x), key(kLog1pf, x), 1);
}
float tanhf(float x) {
  return perturb(std::tanh(x), key(kTanhf, x), 2);
}
float erff(float x) {
  return perturb(std::erf(x), key(kErff, x), 2);
}
float powf(float x, float y) {
  return perturb(std::pow(x, y), key(kPowf, x, y), 4);
}
float rsqrtf(float x) {
  return perturb(1.0f / std::sqrt(x), key(kRsqrtf, x), 2);
}
double exp(double x) {
  return perturb(std::exp(x), key(kExp, x), 1);
}
double expm1(double x) {
  return perturb(std::expm1(x), key(kExpm1, x), 1);
}
double log(double x) {
  return perturb(std::log(x), key(kLog, x), 1);
}
double log1p(double x) {
  return perturb(std::log1p(x), key(kLog1p, x), 1);
}
double tanh(double x) {
  return perturb(std::tanh(x), key(kTanh, x), 1);
}
double erf(double x) {
  return perturb(std::erf(x), key(kErf, x), 2);
}
double rsqrt(double x) {
  return perturb(1.0 / std::sqrt(x), key(kRsqrt, x), 1);
}

float fast_expf(float x) {
  return perturb(std::exp(x), key(kFastExpf, x), 2 + static_cast<int>(std::fabs(1.173f * x)));
}

float fast_logf(float x) {
  // For x in [0.5, 2] the bound is absolute (2^-21.41); elsewhere 3 ulp.
  const float exact = std::log(x);
  if (x >= 0.5f && x <= 2.0f && in_device()) {
    const float bound = std::ldexp(1.0f, -22);
    const int k = offset(key(kFastLogf, x), 4);
    return exact + bound * static_cast<float>(k) / 4.0f;
  }
  return perturb(exact, key(kFastLogf, x), 3);
}

float fast_fdividef(float x, float y) {
  // 2 ulp for |y| in [2^-126, 2^126]; beyond, the device returns 0 for finite x.
  const float ay = std::fabs(y);
  if (in_device() && ay > std::ldexp(1.0f, 126) && std::isfinite(x) && std::isfinite(y)) {
    return 0.0f;
  }
  return perturb(x / y, key(kFastDivf, x, y), 2);
}

float fast_tanhf(float x) {
  const float exact = std::tanh(x);
  if (!in_device() || !std::isfinite(exact)) return exact;
  // Relative error up to 2^-10.987.
  const int k = offset(key(kFastTanhf, x), 8);
  return exact * (1.0f + std::ldexp(1.0f, -11) * static_cast<float>(k) / 8.0f);
}

float fast_sinf(float x) {
  const float exact = std::sin(x);
  if (!in_device() || !std::isfinite(exact)) return exact;
  const int k = offset(key(kFastSinf, x), 4);  // absolute error 2^-21.41 in [-pi, pi]
  return exact + std::ldexp(1.0f, -22) * static_cast<float>(k) / 4.0f;
}

float fast_cosf(float x) {
  const float exact = std::cos(x);
  if (!in_device() || !std::isfinite(exact)) return exact;
  const int k = offset(key(kFastCosf, x), 4);
  return exact + std::ldexp(1.0f, -22) * static_cast<float>(k) / 4.0f;
}

float fast_powf(float x, float y) {
  return fast_expf(y * fast_logf(x));
}

}  // namespace myelin::emu::math
