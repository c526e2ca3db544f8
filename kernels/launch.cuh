#pragma once

// How a kernel is launched and how it declares block-shared memory. Under nvcc these are plain
// CUDA (<<<...>>> and __shared__). In the emulated build (MYELIN_EMULATED_DEVICE) the same kernel
// sources are compiled by the host compiler and run on the emulated device (emulator/), which
// runs each block's threads as fibers and gives each block its own shared memory, filled with
// NaN bytes; there the kernels' math functions are the emulated device's, which model the error
// bounds of the device's (myelin_emu/math.hpp), for kernels in namespace myelin::kernels (or
// one nested in it), where every kernel lives.
//
//   MYELIN_LAUNCH_KERNEL(kernel, grid, block, shared_bytes, stream, args...);
//   MYELIN_SHARED(double[32], partial);          // __shared__ double partial[32];
//   MYELIN_DYNAMIC_SHARED(float, row);           // extern __shared__ float row[];

#include <cuda_runtime.h>

namespace myelin::kernels {
// Spells an array type as one macro argument: SharedArray<float[8][33]> name declares
// float name[8][33].
template <typename T>
using SharedArray = T;
}  // namespace myelin::kernels

#if defined(MYELIN_EMULATED_DEVICE)

#define MYELIN_LAUNCH_KERNEL(kernel, grid, block, shared_bytes, stream, ...) \
  ::myelin::emu::launch(                                                     \
      #kernel, (grid), (block), (shared_bytes), (stream),                    \
      [](auto... myelin_kernel_args_) { kernel(myelin_kernel_args_...); }, __VA_ARGS__)

#define MYELIN_SHARED(type, name)                 \
  static const char myelin_shared_key_##name = 0; \
  ::myelin::kernels::SharedArray<type>& name =    \
      ::myelin::emu::block_shared<::myelin::kernels::SharedArray<type>>(&myelin_shared_key_##name)

#define MYELIN_DYNAMIC_SHARED(type, name) \
  type* name = static_cast<type*>(::myelin::emu::detail::dynamic_shared())

namespace myelin::kernels {
// Unqualified math calls in kernels resolve here before the host C library.
using ::myelin::emu::math::erf;
using ::myelin::emu::math::erff;
using ::myelin::emu::math::exp;
using ::myelin::emu::math::exp2f;
using ::myelin::emu::math::expf;
using ::myelin::emu::math::expm1;
using ::myelin::emu::math::expm1f;
using ::myelin::emu::math::log;
using ::myelin::emu::math::log1p;
using ::myelin::emu::math::log1pf;
using ::myelin::emu::math::log2f;
using ::myelin::emu::math::logf;
using ::myelin::emu::math::powf;
using ::myelin::emu::math::tanh;
using ::myelin::emu::math::tanhf;
inline float exp(float x) {
  return expf(x);
}
inline float log(float x) {
  return logf(x);
}
inline float log1p(float x) {
  return log1pf(x);
}
inline float expm1(float x) {
  return expm1f(x);
}
inline float tanh(float x) {
  return tanhf(x);
}
inline float erf(float x) {
  return erff(x);
}
}  // namespace myelin::kernels

#else

#define MYELIN_LAUNCH_KERNEL(kernel, grid, block, shared_bytes, stream, ...) \
  kernel<<<(grid), (block), (shared_bytes), (stream)>>>(__VA_ARGS__)

#define MYELIN_SHARED(type, name) __shared__ ::myelin::kernels::SharedArray<type> name

#define MYELIN_DYNAMIC_SHARED(type, name)                                 \
  extern __shared__ __align__(16) unsigned char myelin_dynamic_shared_[]; \
  type* name = reinterpret_cast<type*>(myelin_dynamic_shared_)

#endif
