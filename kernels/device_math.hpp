#pragma once

// The elementary functions of the scalar math the kernels share with the CPU reference path
// (activation_math.hpp, update_rules.hpp). Compiled by nvcc for the device they are
// CUDA's device functions; on the host, the C++ library's. In the emulated build they are the
// emulated device's (myelin_emu/math.hpp): inside an emulated kernel within the device's error
// bounds, everywhere else exactly the host library's, so the CPU path is unchanged.

#include <cmath>

#include "myelin/host_device.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/math.hpp"
#endif

namespace myelin::dmath {

#if defined(MYELIN_EMULATED_DEVICE)

inline float exp(float x) {
  return emu::math::expf(x);
}
inline double exp(double x) {
  return emu::math::exp(x);
}
inline float expm1(float x) {
  return emu::math::expm1f(x);
}
inline double expm1(double x) {
  return emu::math::expm1(x);
}
inline float log1p(float x) {
  return emu::math::log1pf(x);
}
inline double log1p(double x) {
  return emu::math::log1p(x);
}
inline float tanh(float x) {
  return emu::math::tanhf(x);
}
inline double tanh(double x) {
  return emu::math::tanh(x);
}
inline float erf(float x) {
  return emu::math::erff(x);
}
inline double erf(double x) {
  return emu::math::erf(x);
}

#else

template <typename T>
MYELIN_HOST_DEVICE inline T exp(T x) {
  return std::exp(x);
}
template <typename T>
MYELIN_HOST_DEVICE inline T expm1(T x) {
  return std::expm1(x);
}
template <typename T>
MYELIN_HOST_DEVICE inline T log1p(T x) {
  return std::log1p(x);
}
template <typename T>
MYELIN_HOST_DEVICE inline T tanh(T x) {
  return std::tanh(x);
}
template <typename T>
MYELIN_HOST_DEVICE inline T erf(T x) {
  return std::erf(x);
}

#endif

}  // namespace myelin::dmath
