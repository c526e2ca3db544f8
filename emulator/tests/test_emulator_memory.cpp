// The emulated device's tests of device memory: fresh memory reads as NaN, the host cannot touch
// it, writes past an allocation and out-of-range copies are caught, pools reuse and trim memory,
// and out-of-memory is reported.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MYELIN_TEST_ASAN 1
#endif

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

// ---- memory ---------------------------------------------------------------------------------

TEST(EmulatedDevice, NewDeviceMemoryReadsAsNaN) {
  float* p = device_alloc<float>(5);
  for (float v : download(p, 5)) EXPECT_TRUE(std::isnan(v));
  CUDA_OK(cudaFreeAsync(p, nullptr));
}

TEST(EmulatedDeviceDeathTest, TheHostCannotDereferenceDeviceMemory) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float* p = device_alloc<float>(4);
  CUDA_OK(cudaDeviceSynchronize());
  EXPECT_TRUE(emu::is_device_pointer(p));
  // Planted: host code reads device memory.
  EXPECT_DEATH(
      {
        volatile float v = *p;
        (void)v;
      },
      "");
  CUDA_OK(cudaFreeAsync(p, nullptr));
}

TEST(EmulatedDeviceDeathTest, AnOffByOneInAGridStrideTailIsCaught) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::int64_t n = 100;
  float* x = upload(std::vector<float>(n, 1.0f));
  float* y = device_alloc<float>(n);
#if defined(MYELIN_TEST_ASAN)
  // AddressSanitizer stops the kernel at the write past the end.
  EXPECT_DEATH(
      {
        scale_off_by_one(x, y, n, nullptr);
        cudaDeviceSynchronize();
      },
      "AddressSanitizer");
#else
  // Without the sanitizer the redzone after the allocation changes: freeing it reports it.
  scale_off_by_one(x, y, n, nullptr);
  CUDA_OK(cudaFreeAsync(y, nullptr));
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_NE(emu::last_fault().find("wrote outside"), std::string::npos) << emu::last_fault();
  y = nullptr;
#endif
  CUDA_OK(cudaFreeAsync(x, nullptr));
  if (y != nullptr) {
    CUDA_OK(cudaFreeAsync(y, nullptr));
  }
  CUDA_OK(cudaDeviceSynchronize());
}

TEST(EmulatedDevice, CopiesCheckTheirRangeAgainstTheAllocation) {
  float* p = device_alloc<float>(4);
  std::vector<float> host(8);
  EXPECT_EQ(cudaMemcpy(host.data(), p, 8 * sizeof(float), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(p, host.data(), 4 * sizeof(float), cudaMemcpyDeviceToHost),
            cudaErrorInvalidValue);  // the kind does not match the pointers
  cudaGetLastError();
  CUDA_OK(cudaFreeAsync(p, nullptr));
}

TEST(EmulatedDevice, PoolsReuseMemoryAndTrimAtSynchronisationBelowTheThreshold) {
  cudaStream_t s = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaMemPool_t pool = nullptr;
  CUDA_OK(cudaDeviceGetDefaultMemPool(&pool, 0));
  std::uint64_t threshold = 0;
  CUDA_OK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  CUDA_OK(cudaStreamSynchronize(s));
  std::uint64_t reserved_before = 0;  // what other tests still hold
  CUDA_OK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved_before));

  // Freed and allocated again in the same stream: reused, no new device memory.
  const emu::Counters start = emu::counters();
  float* a = device_alloc<float>(1000, s);
  CUDA_OK(cudaFreeAsync(a, s));
  float* b = device_alloc<float>(1000, s);
  EXPECT_EQ(a, b);
  EXPECT_EQ((emu::counters() - start).device_allocations, 1u);
  EXPECT_EQ((emu::counters() - start).allocation_calls, 2u);
  CUDA_OK(cudaFreeAsync(b, s));

  // With a release threshold of 0 a synchronisation gives the free memory back...
  CUDA_OK(cudaStreamSynchronize(s));
  EXPECT_GE((emu::counters() - start).pool_releases, 1u);
  float* c = device_alloc<float>(1000, s);
  EXPECT_EQ((emu::counters() - start).device_allocations, 2u);  // ...so the pool grows again
  CUDA_OK(cudaFreeAsync(c, s));

  // With a high threshold it keeps it.
  threshold = ~std::uint64_t{0};
  CUDA_OK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  CUDA_OK(cudaStreamSynchronize(s));
  const emu::Counters kept = emu::counters();
  float* d = device_alloc<float>(1000, s);
  CUDA_OK(cudaFreeAsync(d, s));
  CUDA_OK(cudaStreamSynchronize(s));
  EXPECT_EQ((emu::counters() - kept).device_allocations, 0u);
  EXPECT_EQ((emu::counters() - kept).pool_releases, 0u);
  std::uint64_t reserved = 0;
  CUDA_OK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved));
  EXPECT_GT(reserved, reserved_before);
  CUDA_OK(cudaMemPoolTrimTo(pool, 0));
  CUDA_OK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved));
  EXPECT_LE(reserved, reserved_before);
  threshold = 0;
  CUDA_OK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  CUDA_OK(cudaStreamDestroy(s));
}

TEST(EmulatedDevice, MemoryFreedInAnotherStreamIsReusedOnlyOnceTheFreeHasRun) {
  ProgressScope lazy(emu::Progress::kLazy);  // the free has surely not run at the next call
  cudaStream_t s1 = nullptr, s2 = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s1, cudaStreamNonBlocking));
  CUDA_OK(cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking));
  float* a = device_alloc<float>(64, s1);
  CUDA_OK(cudaFreeAsync(a, s1));
  float* b = device_alloc<float>(64, s2);  // the free has not run: other memory
  EXPECT_NE(a, b);
  CUDA_OK(cudaFreeAsync(b, s2));
  CUDA_OK(cudaStreamDestroy(s1));
  CUDA_OK(cudaStreamDestroy(s2));
}

TEST(EmulatedDevice, OutOfMemoryIsReported) {
  emu::set_memory_limit(0, std::size_t{64} << 20);
  void* p = nullptr;
  EXPECT_EQ(cudaMallocAsync(&p, std::size_t{256} << 20, nullptr), cudaErrorMemoryAllocation);
  EXPECT_EQ(cudaMalloc(&p, std::size_t{256} << 20), cudaErrorMemoryAllocation);
  cudaGetLastError();
  emu::set_memory_limit(0, 0);
  CUDA_OK(cudaMalloc(&p, std::size_t{256} << 20));
  CUDA_OK(cudaFree(p));
}

}  // namespace
}  // namespace myelin::emu_test
