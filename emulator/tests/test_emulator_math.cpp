// The emulated device's tests of device math: expf within two ulps of the host's, whatever the
// schedule, and the host's own outside a kernel.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"
#include "myelin_emu/math.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

// ---- math -----------------------------------------------------------------------------------

TEST(EmulatedMath, DeviceExpIsWithinTwoUlpsAndIndependentOfTheSchedule) {
  const int n = 4096;
  std::vector<float> in(n);
  for (int i = 0; i < n; ++i) in[static_cast<std::size_t>(i)] = -20.0f + 40.0f * i / n;
  float* din = upload(in);
  float* dout = device_alloc<float>(n);
  std::vector<float> first;
  for (std::uint64_t seed : {1, 2}) {
    SeedScope scope(seed);
    device_expf(din, dout, n, nullptr);
    const std::vector<float> out = download(dout, n);
    if (first.empty()) {
      first = out;
    } else {
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(bits(out[static_cast<std::size_t>(i)]), bits(first[static_cast<std::size_t>(i)]));
      }
    }
  }
  int moved = 0;
  for (int i = 0; i < n; ++i) {
    const float host = std::exp(in[static_cast<std::size_t>(i)]);
    const float dev = first[static_cast<std::size_t>(i)];
    const auto ulps =
        std::abs(static_cast<std::int64_t>(bits(host)) - static_cast<std::int64_t>(bits(dev)));
    EXPECT_LE(ulps, 2) << in[static_cast<std::size_t>(i)];
    moved += ulps > 0 ? 1 : 0;
  }
  EXPECT_GT(moved, n / 2);  // the tolerances of GPU tests really meet device-like errors
  // Outside a kernel the same function is the host's exactly.
  EXPECT_EQ(emu::math::expf(1.5f), std::exp(1.5f));
  cudaFreeAsync(din, nullptr);
  cudaFreeAsync(dout, nullptr);
}

}  // namespace
}  // namespace myelin::emu_test
