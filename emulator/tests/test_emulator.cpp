// The emulated device's own tests: the runtime (devices, memory, pools, streams, events, copies,
// launch checks, counters), the scheduler (seeded thread order, barriers, warp collectives,
// shared memory), device math, cuBLAS/cuBLASLt and Thrust, and the planted bugs it must catch.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <thrust/count.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "myelin_emu/emulator.hpp"
#include "myelin_emu/math.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MYELIN_TEST_ASAN 1
#endif

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call << ": " << myelin::emu::last_fault()

template <typename T>
T* device_alloc(std::size_t n, cudaStream_t stream = nullptr) {
  void* p = nullptr;
  EXPECT_EQ(cudaMallocAsync(&p, n * sizeof(T), stream), cudaSuccess);
  return static_cast<T*>(p);
}

template <typename T>
std::vector<T> download(const T* device, std::size_t n, cudaStream_t stream = nullptr) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpyAsync(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost, stream),
            cudaSuccess);
  return host;
}

template <typename T>
T* upload(const std::vector<T>& host, cudaStream_t stream = nullptr) {
  T* p = device_alloc<T>(host.size(), stream);
  EXPECT_EQ(
      cudaMemcpyAsync(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice, stream),
      cudaSuccess);
  return p;
}

std::uint32_t bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Restores the schedule seed after a test changes it.
class SeedScope {
 public:
  explicit SeedScope(std::uint64_t seed) : saved_(emu::schedule_seed()) {
    emu::set_schedule_seed(seed);
  }
  ~SeedScope() { emu::set_schedule_seed(saved_); }

 private:
  std::uint64_t saved_;
};

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

// ---- streams, events, copies ----------------------------------------------------------------

TEST(EmulatedDevice, WorkRunsOnlyWhenTheHostWaitsForIt) {
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 4 * sizeof(float)));
  std::fill(pinned, pinned + 4, 0.0f);
  fill_iota(pinned, 4, nullptr);
  CUDA_OK(cudaGetLastError());
  // Planted: the host reads without synchronising, and sees the old values.
  EXPECT_EQ(pinned[0], 0.0f);
  CUDA_OK(cudaStreamSynchronize(nullptr));
  EXPECT_EQ(pinned[0], 1.0f);
  EXPECT_EQ(pinned[3], 4.0f);
  CUDA_OK(cudaFreeHost(pinned));
}

TEST(EmulatedDevice, AnAsynchronousCopyToPinnedMemoryNeedsASynchronisation) {
  float* d = upload(std::vector<float>{1, 2, 3});
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 3 * sizeof(float)));
  std::fill(pinned, pinned + 3, -1.0f);
  CUDA_OK(cudaMemcpyAsync(pinned, d, 3 * sizeof(float), cudaMemcpyDeviceToHost, nullptr));
  EXPECT_EQ(pinned[1], -1.0f);  // stale until someone waits
  cudaEvent_t done = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  CUDA_OK(cudaEventRecord(done, nullptr));
  CUDA_OK(cudaEventSynchronize(done));
  EXPECT_EQ(pinned[1], 2.0f);
  CUDA_OK(cudaEventDestroy(done));
  CUDA_OK(cudaFreeHost(pinned));
  CUDA_OK(cudaFreeAsync(d, nullptr));
}

TEST(EmulatedDevice, PageableSourcesAreCopiedAtTheCallPinnedOnesWhenTheCopyRuns) {
  std::vector<float> pageable{1, 2};
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 2 * sizeof(float)));
  pinned[0] = 1;
  pinned[1] = 2;
  float* a = device_alloc<float>(2);
  float* b = device_alloc<float>(2);
  CUDA_OK(cudaMemcpyAsync(a, pageable.data(), 2 * sizeof(float), cudaMemcpyHostToDevice, nullptr));
  CUDA_OK(cudaMemcpyAsync(b, pinned, 2 * sizeof(float), cudaMemcpyHostToDevice, nullptr));
  pageable[0] = pinned[0] = 9;         // before the copies run
  EXPECT_EQ(download(a, 2)[0], 1.0f);  // staged at the call
  EXPECT_EQ(download(b, 2)[0], 9.0f);  // read when it ran
  CUDA_OK(cudaFreeHost(pinned));
  CUDA_OK(cudaFreeAsync(a, nullptr));
  CUDA_OK(cudaFreeAsync(b, nullptr));
}

TEST(EmulatedDevice, EventsOrderWorkAcrossStreams) {
  cudaStream_t producer = nullptr, consumer = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking));
  CUDA_OK(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking));
  float* x = device_alloc<float>(8, producer);
  float* y = device_alloc<float>(8, producer);
  float* z = device_alloc<float>(8, producer);
  CUDA_OK(cudaStreamSynchronize(producer));
  fill_iota(x, 8, producer);
  cudaEvent_t ready = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  CUDA_OK(cudaEventRecord(ready, producer));
  // Ordered by the event: sees the values.
  CUDA_OK(cudaStreamWaitEvent(consumer, ready, 0));
  add_one(x, y, 8, consumer);
  // Planted: no wait: the consumer runs first and reads the fresh (NaN) memory.
  fill_iota(z, 8, producer);
  add_one(z, z, 8, consumer);
  CUDA_OK(cudaStreamSynchronize(consumer));
  EXPECT_EQ(download(y, 8, consumer)[7], 9.0f);
  EXPECT_TRUE(std::isnan(download(z, 8, consumer)[0]));
  CUDA_OK(cudaStreamSynchronize(producer));
  CUDA_OK(cudaEventDestroy(ready));
  for (float* p : {x, y, z}) CUDA_OK(cudaFreeAsync(p, producer));
  CUDA_OK(cudaStreamDestroy(producer));
  CUDA_OK(cudaStreamDestroy(consumer));
}

TEST(EmulatedDevice, TheLegacyStreamOrdersBlockingStreamsButNotNonBlockingOnes) {
  for (const unsigned flags : {cudaStreamDefault, cudaStreamNonBlocking}) {
    cudaStream_t s = nullptr;
    CUDA_OK(cudaStreamCreateWithFlags(&s, flags));
    float* x = device_alloc<float>(4, nullptr);
    float* y = device_alloc<float>(4, nullptr);
    CUDA_OK(cudaDeviceSynchronize());
    fill_iota(x, 4, s);
    add_one(x, y, 4, nullptr);  // on the legacy stream
    CUDA_OK(cudaStreamSynchronize(nullptr));
    const float y0 = download(y, 4)[0];
    if (flags == cudaStreamDefault) {
      EXPECT_EQ(y0, 2.0f);  // the legacy stream waited for the blocking stream
    } else {
      EXPECT_TRUE(std::isnan(y0));  // no implicit order: it read fresh memory
    }
    CUDA_OK(cudaStreamSynchronize(s));
    CUDA_OK(cudaFreeAsync(x, nullptr));
    CUDA_OK(cudaFreeAsync(y, nullptr));
    CUDA_OK(cudaStreamDestroy(s));
  }
}

TEST(EmulatedDevice, CountsLaunchesCopiesAndWaits) {
  cudaStream_t s = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  float* x = device_alloc<float>(16, s);
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 16 * sizeof(float)));
  cudaEvent_t e = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  const emu::Counters start = emu::counters();
  fill_iota(x, 16, s);
  add_one(x, x, 16, s);
  CUDA_OK(cudaMemcpyAsync(pinned, x, 16 * sizeof(float), cudaMemcpyDeviceToHost, s));
  CUDA_OK(cudaEventRecord(e, s));
  CUDA_OK(cudaEventQuery(e));
  std::vector<float> pageable(16);
  CUDA_OK(cudaMemcpyAsync(pageable.data(), x, 16 * sizeof(float), cudaMemcpyDeviceToHost, s));
  CUDA_OK(cudaStreamSynchronize(s));
  const emu::Counters d = emu::counters() - start;
  EXPECT_EQ(d.launches, 2u);
  EXPECT_EQ(d.bytes_device_to_host, 2 * 16 * sizeof(float));
  EXPECT_EQ(d.event_queries, 1u);
  EXPECT_EQ(d.blocking_waits, 2u);  // the copy to pageable memory and the synchronisation
  EXPECT_EQ(pinned[15], 17.0f);
  EXPECT_EQ(pageable[0], 2.0f);
  CUDA_OK(cudaEventDestroy(e));
  CUDA_OK(cudaFreeHost(pinned));
  CUDA_OK(cudaFreeAsync(x, s));
  CUDA_OK(cudaStreamDestroy(s));
}

// ---- the scheduler --------------------------------------------------------------------------

std::vector<int> thread_order(std::uint64_t seed) {
  SeedScope scope(seed);
  int* counter = upload(std::vector<int>{0});
  int* log = device_alloc<int>(4 * 64);
  log_order(counter, log, 4, 64, nullptr);
  std::vector<int> order = download(log, 4 * 64);
  cudaFreeAsync(counter, nullptr);
  cudaFreeAsync(log, nullptr);
  return order;
}

TEST(EmulatedScheduler, TheSeedDecidesTheThreadOrder) {
  const std::vector<int> a = thread_order(1), b = thread_order(2), again = thread_order(1);
  EXPECT_EQ(a, again);
  EXPECT_NE(a, b);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> all(4 * 64);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);  // every thread ran once
  // Neither in index order nor with the blocks one after another in order.
  EXPECT_NE(a, all);
}

std::vector<float> block_sums(std::uint64_t seed, bool with_barrier, int blocks) {
  SeedScope scope(seed);
  std::vector<float> in(static_cast<std::size_t>(blocks) * 256);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i % 97) * 0.25f - 3.0f;
  float* din = upload(in);
  float* dout = device_alloc<float>(static_cast<std::size_t>(blocks));
  if (with_barrier) {
    block_sum(din, dout, blocks, nullptr);
  } else {
    block_sum_missing_barrier(din, dout, blocks, nullptr);
  }
  std::vector<float> out = download(dout, static_cast<std::size_t>(blocks));
  cudaFreeAsync(din, nullptr);
  cudaFreeAsync(dout, nullptr);
  return out;
}

TEST(EmulatedScheduler, ACorrectBlockReductionGivesTheSameBitsUnderEverySeed) {
  const std::vector<float> reference = block_sums(1, true, 32);
  for (std::uint64_t seed : {2, 3, 4, 5}) {
    const std::vector<float> other = block_sums(seed, true, 32);
    for (std::size_t b = 0; b < reference.size(); ++b) {
      EXPECT_EQ(bits(other[b]), bits(reference[b])) << "seed " << seed << " block " << b;
    }
  }
  double expected = 0;
  for (int i = 0; i < 256; ++i) expected += (i % 97) * 0.25 - 3.0;
  EXPECT_NEAR(reference[0], expected, 1e-3);
}

TEST(EmulatedScheduler, AMissingBarrierGivesDifferentBitsUnderTwoSeeds) {
  // Planted: warp 0 reads the other warps' totals without waiting for them.
  const std::vector<float> a = block_sums(1, false, 32), b = block_sums(2, false, 32);
  bool differ = false;
  for (std::size_t k = 0; k < a.size(); ++k) differ = differ || bits(a[k]) != bits(b[k]);
  EXPECT_TRUE(differ);
}

TEST(EmulatedScheduler, AShuffleWithAPartialMaskIsCaught) {
  float* in = upload(std::vector<float>(32, 1.0f));
  float* out = device_alloc<float>(32);
  warp_sum_partial_mask(in, out, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_NE(emu::last_fault().find("with mask 0xffff, which does not name it"), std::string::npos)
      << emu::last_fault();
  cudaGetLastError();
  cudaFreeAsync(in, nullptr);
  cudaFreeAsync(out, nullptr);
}

TEST(EmulatedScheduler, AnUninitialisedSharedMemoryReadShows) {
  float* out = device_alloc<float>(32);
  read_unwritten_shared(out, nullptr);
  const std::vector<float> host = download(out, 32);
  for (float v : host) EXPECT_TRUE(std::isnan(v));  // the fill of fresh shared memory
  cudaFreeAsync(out, nullptr);
}

TEST(EmulatedScheduler, WarpCollectivesExchangeAmongTheirLanes) {
  std::vector<int> in(32);
  for (int l = 0; l < 32; ++l) in[static_cast<std::size_t>(l)] = 3 * l + 1;
  int* din = upload(in);
  int* dout = device_alloc<int>(12 * 32);
  warp_collectives(din, dout, nullptr);
  const std::vector<int> out = download(dout, 12 * 32);
  auto at = [&](int k, int lane) { return out[static_cast<std::size_t>(k * 32 + lane)]; };
  unsigned ballot = 0;
  for (int l = 0; l < 32; ++l) ballot |= ((3 * l + 1) % 3 == 0 ? 1u : 0u) << l;
  for (int l = 0; l < 32; ++l) {
    const int v = 3 * l + 1;
    EXPECT_EQ(at(0, l), 16) << l;                             // lane 5's value
    EXPECT_EQ(at(1, l), l >= 3 ? v - 9 : v) << l;             // up by 3
    EXPECT_EQ(at(2, l), l + 3 < 32 ? v + 9 : v) << l;         // down by 3
    EXPECT_EQ(at(3, l), 3 * (l ^ 7) + 1) << l;                // xor 7
    EXPECT_EQ(static_cast<unsigned>(at(4, l)), ballot) << l;  // none is a multiple of 3
    EXPECT_EQ(at(5, l), 1) << l;                              // lane 13 holds 40
    EXPECT_EQ(at(6, l), 1) << l;
    EXPECT_EQ(at(7, l), 3 * 496 + 32) << l;               // sum over the warp
    EXPECT_EQ(at(8, l), l % 8 + 2 < 8 ? v + 6 : v) << l;  // down by 2 within 8 lanes
    EXPECT_EQ(at(9, l), 94) << l;
    EXPECT_EQ(at(10, l), l < 16 ? 1 : 49) << l;  // per half warp
    EXPECT_EQ(at(11, l), 94) << l;               // after a __syncwarp
  }
  cudaFreeAsync(din, nullptr);
  cudaFreeAsync(dout, nullptr);
}

TEST(EmulatedScheduler, ThreadsLeavingBeforeABarrierAreAFault) {
  float* out = device_alloc<float>(128);
  early_exit_before_barrier(out, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_NE(emu::last_fault().find("__syncthreads"), std::string::npos) << emu::last_fault();
  divergent_barriers(out, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_NE(emu::last_fault().find("different __syncthreads"), std::string::npos)
      << emu::last_fault();
  lane_leaves_collective(out, nullptr);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  // Lane 0 leaves before or after the others enter the shuffle, as the seed orders them.
  EXPECT_NE(emu::last_fault().find("__shfl_xor_sync"), std::string::npos) << emu::last_fault();
  cudaGetLastError();
  cudaFreeAsync(out, nullptr);
}

TEST(EmulatedScheduler, DynamicSharedMemoryIsPerBlockAndStartsAsNaN) {
  std::vector<float> in(100);
  std::iota(in.begin(), in.end(), 0.0f);
  float* din = upload(in);
  float* dout = device_alloc<float>(100);
  float* before = device_alloc<float>(100);
  through_dynamic_shared(din, dout, before, 100, nullptr);
  const std::vector<float> out = download(dout, 100), was = download(before, 100);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(i)], static_cast<float>(99 - i));
    EXPECT_TRUE(std::isnan(was[static_cast<std::size_t>(i)]));
  }
  for (float* p : {din, dout, before}) cudaFreeAsync(p, nullptr);
}

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

// ---- cuBLAS / cuBLASLt / Thrust -------------------------------------------------------------

// Column-major reference in double.
std::vector<float> reference_gemm(bool ta, bool tb, int m, int n, int k, float alpha,
                                  const std::vector<float>& a, int lda, const std::vector<float>& b,
                                  int ldb, float beta, const std::vector<float>& c, int ldc,
                                  const std::vector<float>* bias) {
  std::vector<float> out = c;
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[static_cast<std::size_t>(p + i * lda)]
                             : a[static_cast<std::size_t>(i + p * lda)];
        const double bv = tb ? b[static_cast<std::size_t>(j + p * ldb)]
                             : b[static_cast<std::size_t>(p + j * ldb)];
        s += av * bv;
      }
      double v = alpha * s + beta * c[static_cast<std::size_t>(i + j * ldc)];
      if (bias != nullptr) v += (*bias)[static_cast<std::size_t>(i)];
      out[static_cast<std::size_t>(i + j * ldc)] = static_cast<float>(v);
    }
  }
  return out;
}

std::vector<float> values(std::size_t n, float scale) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * static_cast<float>((i * 37 + 11) % 23) - 5.0f;
  return v;
}

TEST(EmulatedCublas, GemmExMatchesAReferenceForEveryTransposeAndLeadingDimension) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  const int m = 13, n = 7, k = 21;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      const int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 1, ldc = m + 2;
      const std::vector<float> a = values(static_cast<std::size_t>(lda * (ta ? m : k)), 0.5f);
      const std::vector<float> b = values(static_cast<std::size_t>(ldb * (tb ? k : n)), 0.25f);
      const std::vector<float> c = values(static_cast<std::size_t>(ldc * n), 1.0f);
      float* da = upload(a);
      float* db = upload(b);
      float* dc = upload(c);
      const float alpha = 1.5f, beta = -0.5f;
      ASSERT_EQ(cublasGemmEx(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m,
                             n, k, &alpha, da, CUDA_R_32F, lda, db, CUDA_R_32F, ldb, &beta, dc,
                             CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                CUBLAS_STATUS_SUCCESS);
      const std::vector<float> got = download(dc, c.size());
      const std::vector<float> want =
          reference_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nullptr);
      for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << ta << tb << " " << i;
      }
      for (float* p : {da, db, dc}) cudaFreeAsync(p, nullptr);
    }
  }
  // Modes the engine must not use.
  const float one = 1.0f;
  EXPECT_EQ(cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH), CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, nullptr, CUDA_R_32F, 1,
                         nullptr, CUDA_R_32F, 1, &one, nullptr, CUDA_R_32F, 1,
                         CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 1, 1, &one, nullptr, CUDA_R_32F, 3,
                         nullptr, CUDA_R_32F, 1, &one, nullptr, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F,
                         CUBLAS_GEMM_DEFAULT),
            CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  ASSERT_EQ(cublasDestroy(h), CUBLAS_STATUS_SUCCESS);
}

TEST(EmulatedCublas, AGemmReadingPastAnOperandIsAFault) {
  cublasHandle_t h = nullptr;
  ASSERT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS);
  float* a = upload(values(8, 1.0f));  // 8 floats, used as a 4 x 4 matrix
  float* c = device_alloc<float>(16);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a, CUDA_R_32F, 4, a, CUDA_R_32F, 4,
                   &zero, c, CUDA_R_32F, 4, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorIllegalAddress);
  EXPECT_NE(emu::last_fault().find("operand A"), std::string::npos) << emu::last_fault();
  cudaGetLastError();
  cudaFreeAsync(a, nullptr);
  cudaFreeAsync(c, nullptr);
  cublasDestroy(h);
}

TEST(EmulatedCublas, LtMatmulWithTheBiasEpilogue) {
  cublasLtHandle_t lt = nullptr;
  ASSERT_EQ(cublasLtCreate(&lt), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulDesc_t desc = nullptr;
  EXPECT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F),
            CUBLAS_STATUS_NOT_SUPPORTED);
  ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
  // y^T (out x rows) = W (in x out, transposed) x^T (in x rows) + bias, as the linear op uses it.
  const int in = 9, out = 5, rows = 6;
  const cublasOperation_t t = CUBLAS_OP_T, nt = CUBLAS_OP_N;
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &nt, sizeof nt),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                           sizeof epilogue),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> w = values(static_cast<std::size_t>(in * out), 0.5f);
  const std::vector<float> x = values(static_cast<std::size_t>(in * rows), 0.25f);
  const std::vector<float> bias = values(static_cast<std::size_t>(out), 2.0f);
  float* dw = upload(w);
  float* dx = upload(x);
  float* db = upload(bias);
  float* dy = device_alloc<float>(static_cast<std::size_t>(out * rows));
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &db, sizeof db),
            CUBLAS_STATUS_SUCCESS);
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, in, out, in), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, in, rows, in), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, out, rows, out), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulPreference_t pref = nullptr;
  ASSERT_EQ(cublasLtMatmulPreferenceCreate(&pref), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(lt, desc, la, lb, lc, lc, pref, 1, &result, &found),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(found, 1);
  const float alpha = 1.0f, beta = 0.0f;
  ASSERT_EQ(cublasLtMatmul(lt, desc, &alpha, dw, la, dx, lb, &beta, dy, lc, dy, lc, &result.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  const std::vector<float> got = download(dy, static_cast<std::size_t>(out * rows));
  const std::vector<float> want =
      reference_gemm(true, false, out, rows, in, alpha, w, in, x, in, 0.0f,
                     std::vector<float>(static_cast<std::size_t>(out * rows), 0.0f), out, &bias);
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  cublasLtMatmulPreferenceDestroy(pref);
  for (auto* l : {la, lb, lc}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(lt);
  for (float* p : {dw, dx, db, dy}) cudaFreeAsync(p, nullptr);
}

struct IsOdd {
  const int* values;
  __device__ bool operator()(std::int64_t i) const { return values[i] % 2 != 0; }
};

TEST(EmulatedThrust, CountIfOnAStream) {
  std::vector<int> v(10000);
  std::iota(v.begin(), v.end(), 0);
  int* d = upload(v);
  const thrust::counting_iterator<std::int64_t> first(0);
  EXPECT_EQ(thrust::count_if(thrust::cuda::par.on(nullptr), first, first + 10000, IsOdd{d}), 5000);
  // Out of memory for its temporary storage (after the pool gave back what it held).
  CUDA_OK(cudaDeviceSynchronize());
  emu::set_memory_limit(0, 1);
  EXPECT_THROW(thrust::count_if(thrust::cuda::par.on(nullptr), first, first + 10000, IsOdd{d}),
               std::bad_alloc);
  emu::set_memory_limit(0, 0);
  cudaGetLastError();
  cudaFreeAsync(d, nullptr);
}

}  // namespace
}  // namespace myelin::emu_test
