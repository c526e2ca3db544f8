// The emulated device's faults on demand: a launch that fails when it is made or while it runs,
// an allocation that fails, a driver older than the runtime; and the one last-error state the
// runtime shares with the libraries.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

class Faults : public ::testing::Test {
 protected:
  void TearDown() override {
    emu::clear_faults();
    cudaDeviceSynchronize();
    cudaGetLastError();
  }
};

TEST_F(Faults, TheNthLaunchOfANamedKernelFailsAtTheLaunch) {
  float* x = upload(std::vector<float>{1, 2, 3, 4});
  float* y = upload(std::vector<float>{0, 0, 0, 0});
  emu::fail_launch("add_one_kernel", 2);
  add_one(x, y, 4, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  add_one(y, y, 4, nullptr);  // the second: fails, runs nothing
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchOutOfResources);
  EXPECT_NE(emu::last_fault().find("add_one_kernel"), std::string::npos) << emu::last_fault();
  EXPECT_EQ(download(y, 4), (std::vector<float>{2, 3, 4, 5}));
  add_one(y, y, 4, nullptr);  // a fault fires once
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(download(y, 4), (std::vector<float>{3, 4, 5, 6}));
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  cudaFreeAsync(x, nullptr);
  cudaFreeAsync(y, nullptr);
}

TEST_F(Faults, ALaunchThatFailsWhileRunningIsReportedAtTheNextSynchronisation) {
  float* y = upload(std::vector<float>{0, 0, 0, 0});
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  emu::fail_launch("fill_iota_kernel", 1, /*while_running=*/true);
  fill_iota(y, 4, nullptr);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the launch itself is accepted";
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_NE(emu::last_fault().find("fill_iota_kernel failed while running"), std::string::npos);
  EXPECT_EQ(download(y, 4), (std::vector<float>{0, 0, 0, 0})) << "it wrote nothing";
  cudaGetLastError();
  cudaFreeAsync(y, nullptr);
}

TEST_F(Faults, TheNthAllocationFails) {
  emu::fail_allocation(2);
  void* a = nullptr;
  void* b = nullptr;
  void* c = nullptr;
  EXPECT_EQ(cudaMallocAsync(&a, 64, nullptr), cudaSuccess);
  EXPECT_EQ(cudaMallocHost(&b, 64), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaGetLastError(), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaMalloc(&c, 64), cudaSuccess);
  cudaFreeAsync(a, nullptr);
  cudaFree(c);
}

TEST_F(Faults, ADriverOlderThanTheRuntimeFailsEveryDeviceCall) {
  emu::set_driver_version(12040);
  int version = 0;
  ASSERT_EQ(cudaDriverGetVersion(&version), cudaSuccess);
  EXPECT_EQ(version, 12040);
  ASSERT_EQ(cudaRuntimeGetVersion(&version), cudaSuccess);
  EXPECT_GT(version, 12040);
  int count = -1;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaErrorInsufficientDriver);
  EXPECT_EQ(count, 0);
  void* p = nullptr;
  EXPECT_EQ(cudaMallocAsync(&p, 16, nullptr), cudaErrorInsufficientDriver);
  cudaStream_t s = nullptr;
  EXPECT_EQ(cudaStreamCreate(&s), cudaErrorInsufficientDriver);
  emu::clear_faults();
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, emu::device_count());
}

TEST_F(Faults, ALibraryRoutineFailsOnDemandAndTakesAnErrorLeftBeforeIt) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  float* a = upload(std::vector<float>{1, 2, 3, 4});
  float* c = device_alloc<float>(4);
  const float one = 1.0f, zero = 0.0f;
  auto gemm = [&] {
    return cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, CUDA_R_32F, 2, a, CUDA_R_32F,
                        2, &zero, c, CUDA_R_32F, 2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  emu::fail_launch("cublasGemmEx", 1);
  EXPECT_EQ(gemm(), CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(gemm(), CUBLAS_STATUS_SUCCESS);
  // A kernel launch that failed and was not checked: the library's own check takes its error.
  emu::fail_launch("fill_iota_kernel", 1);
  fill_iota(c, 4, nullptr);
  EXPECT_EQ(gemm(), CUBLAS_STATUS_EXECUTION_FAILED);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the error is gone: whoever checks first takes it";
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  cudaFreeAsync(a, nullptr);
  cudaFreeAsync(c, nullptr);
  cublasDestroy(h);
}

}  // namespace
}  // namespace myelin::emu_test
