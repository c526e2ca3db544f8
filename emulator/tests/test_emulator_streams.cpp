// The emulated device's tests of streams, events and copies: work runs only when the host waits
// for it, pageable and pinned copies, ordering by events and by the legacy stream, and the
// counters.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

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

}  // namespace
}  // namespace myelin::emu_test
