// The emulated device's tests of its devices (two H100s, the current device, the last error) and
// of the checks a kernel launch meets: its configuration, its stream's device, its pointers.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

// ---- devices --------------------------------------------------------------------------------

TEST(EmulatedDevice, ReportsTwoH100s) {
  int count = 0;
  CUDA_OK(cudaGetDeviceCount(&count));
  EXPECT_EQ(count, 2);
  cudaDeviceProp p{};
  CUDA_OK(cudaGetDeviceProperties(&p, 1));
  EXPECT_NE(std::string(p.name).find("H100"), std::string::npos);
  EXPECT_NE(std::string(p.name).find("emulated"), std::string::npos);
  EXPECT_EQ(p.major, 9);
  EXPECT_EQ(p.minor, 0);
  EXPECT_EQ(p.multiProcessorCount, 132);
  EXPECT_EQ(p.sharedMemPerBlock, 48u * 1024u);
  int sms = 0;
  CUDA_OK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  EXPECT_EQ(sms, 132);
  EXPECT_EQ(cudaSetDevice(2), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

// ---- launch checks --------------------------------------------------------------------------

TEST(EmulatedDevice, BadLaunchConfigurationsFailAsOnADevice) {
  float* out = device_alloc<float>(2048);
  cudaGetLastError();
  fill_iota(out, 0, nullptr);  // a grid of 0 blocks
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  log_order(nullptr, nullptr, 1, 1025, nullptr);  // more than 1024 threads per block
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  fill_with_dynamic_shared(out, 48 * 1024 + 4, nullptr);  // more shared memory than a block has
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  fill_with_dynamic_shared(out, 48 * 1024, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  CUDA_OK(cudaFreeAsync(out, nullptr));
  CUDA_OK(cudaDeviceSynchronize());
}

TEST(EmulatedDevice, AKernelLaunchOnAnotherDevicesStreamFails) {
  CUDA_OK(cudaSetDevice(1));
  cudaStream_t s1 = nullptr;
  CUDA_OK(cudaStreamCreate(&s1));
  float* out = device_alloc<float>(4, s1);
  CUDA_OK(cudaSetDevice(0));
  fill_iota(out, 4, s1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidResourceHandle);
  CUDA_OK(cudaSetDevice(1));
  fill_iota(out, 4, s1);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(download(out, 4, s1), (std::vector<float>{1, 2, 3, 4}));
  CUDA_OK(cudaFreeAsync(out, s1));
  CUDA_OK(cudaStreamDestroy(s1));
  CUDA_OK(cudaSetDevice(0));
}

TEST(EmulatedDevice, AKernelCannotUseAnotherDevicesMemoryOrHostMemory) {
  CUDA_OK(cudaSetDevice(1));
  float* other = device_alloc<float>(4);
  CUDA_OK(cudaDeviceSynchronize());
  CUDA_OK(cudaSetDevice(0));
  fill_iota(other, 4, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_NE(emu::last_fault().find("memory of cuda:1"), std::string::npos) << emu::last_fault();
  std::vector<float> host(4);
  fill_iota(host.data(), 4, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_NE(emu::last_fault().find("host memory"), std::string::npos) << emu::last_fault();
  cudaGetLastError();
  CUDA_OK(cudaSetDevice(1));
  CUDA_OK(cudaFreeAsync(other, nullptr));
  CUDA_OK(cudaDeviceSynchronize());
  CUDA_OK(cudaSetDevice(0));
}

}  // namespace
}  // namespace myelin::emu_test
