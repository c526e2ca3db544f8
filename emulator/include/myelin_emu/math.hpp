#pragma once

// Device math on the emulated device. Inside an emulated kernel, the functions whose device
// implementation is not correctly rounded return the host's result moved by a few units in the
// last place, up to the maximum error the CUDA C++ Programming Guide documents for that function
// (appendix "Mathematical Functions"; fast intrinsics have larger bounds), so that tolerances
// between the GPU path and the CPU reference are exercised rather than met by host libm. The
// offset is a fixed function of the input bits: the same input gives the same result in every
// thread order. Outside a kernel (the CPU reference path) the functions are host libm exactly.

namespace myelin::emu {

// Whether the calling code runs inside an emulated kernel (or an emulated library routine).
bool in_device();

namespace math {

float expf(float x);           // 2 ulp
float exp2f(float x);          // 2 ulp
float expm1f(float x);         // 1 ulp
float logf(float x);           // 1 ulp
float log2f(float x);          // 1 ulp
float log1pf(float x);         // 1 ulp
float tanhf(float x);          // 2 ulp
float erff(float x);           // 2 ulp
float powf(float x, float y);  // 4 ulp
float rsqrtf(float x);         // 2 ulp
double exp(double x);          // 1 ulp
double expm1(double x);        // 1 ulp
double log(double x);          // 1 ulp
double log1p(double x);        // 1 ulp
double tanh(double x);         // 1 ulp
double erf(double x);          // 2 ulp
double rsqrt(double x);        // 1 ulp

// Fast intrinsics.
float fast_expf(float x);               // __expf: 2 + floor(|1.173 x|) ulp
float fast_logf(float x);               // __logf
float fast_fdividef(float x, float y);  // __fdividef: 2 ulp
float fast_tanhf(float x);              // __tanhf: relative error 2^-10.987
float fast_sinf(float x);               // __sinf
float fast_cosf(float x);               // __cosf
float fast_powf(float x, float y);      // __powf

// `exact` moved by an offset in [-ulps, ulps] units in the last place derived from `key` (the
// input bits and the function), unless outside a kernel or not finite.
float perturb(float exact, unsigned long long key, int ulps);
double perturb(double exact, unsigned long long key, int ulps);

}  // namespace math
}  // namespace myelin::emu
