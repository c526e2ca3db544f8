// The emulated device's tests of streams, events and copies: work that completes when the
// schedule says (so a query may answer "not ready" and a host read without synchronisation sees
// either state), or only when the host waits for it (lazy progress, which the planted missing
// synchronisations use to show stale data every time); pageable and pinned copies, ordering by
// events and by the legacy stream, and the counters.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

// ---- streams, events, copies ----------------------------------------------------------------

TEST(EmulatedDevice, UnderLazyProgressWorkRunsOnlyWhenTheHostWaitsForIt) {
  ProgressScope lazy(emu::Progress::kLazy);
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
  ProgressScope lazy(emu::Progress::kLazy);
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
  ProgressScope lazy(emu::Progress::kLazy);  // the copies run after the host's writes
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
  ProgressScope lazy(emu::Progress::kLazy);  // the unordered pair below then always misreads
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
  ProgressScope lazy(emu::Progress::kLazy);
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

// ---- asynchronous progress ------------------------------------------------------------------

// Planted: the host reads pinned memory that a queued kernel writes, before the event that
// would order the read. Returns what it read; the kernel writes 1, the host wrote 0 before.
float read_before_the_event(std::uint64_t seed) {
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // nothing queued from before: a fresh start
  SeedScope scope(seed);
  float* pinned = nullptr;
  EXPECT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned), 4 * sizeof(float)), cudaSuccess);
  std::fill(pinned, pinned + 4, 0.0f);
  cudaEvent_t done = nullptr;
  EXPECT_EQ(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), cudaSuccess);
  fill_iota(pinned, 4, nullptr);
  EXPECT_EQ(cudaEventRecord(done, nullptr), cudaSuccess);
  const float early = pinned[0];  // the bug: no cudaEventSynchronize(done) first
  EXPECT_EQ(cudaEventSynchronize(done), cudaSuccess);
  EXPECT_EQ(pinned[0], 1.0f) << "after the event, the write is always there";
  EXPECT_EQ(cudaEventDestroy(done), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(pinned), cudaSuccess);
  return early;
}

TEST(EmulatedDevice, AHostReadOfPinnedMemoryBeforeItsEventSeesEitherStateAsTheSeedDraws) {
  ProgressScope async(emu::Progress::kAsync);  // the default, unless MYELIN_EMU_PROGRESS says
  int stale = 0, fresh = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const float v = read_before_the_event(seed);
    (v == 0.0f ? stale : fresh) += 1;
    EXPECT_EQ(read_before_the_event(seed), v) << "seed " << seed << " repeats itself";
  }
  EXPECT_GT(stale, 0) << "no seed left the kernel unfinished at the read";
  EXPECT_GT(fresh, 0) << "no seed finished the kernel before the read";
}

// What a query answers for a kernel queued just before it, under `seed`.
cudaError_t query_fresh_work(std::uint64_t seed, cudaError_t* last_error) {
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);  // nothing queued from before: a fresh start
  SeedScope scope(seed);
  float* x = device_alloc<float>(256);
  cudaEvent_t done = nullptr;
  EXPECT_EQ(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  fill_iota(x, 256, nullptr);
  EXPECT_EQ(cudaEventRecord(done, nullptr), cudaSuccess);
  const cudaError_t answer = cudaEventQuery(done);
  *last_error = cudaGetLastError();
  EXPECT_EQ(cudaEventSynchronize(done), cudaSuccess);
  EXPECT_EQ(cudaEventQuery(done), cudaSuccess) << "once complete, always complete";
  EXPECT_EQ(cudaEventDestroy(done), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(x, nullptr), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return answer;
}

TEST(EmulatedDevice, AQueryOfUnfinishedWorkMayAnswerNotReadyAndRecordsItAsTheLastError) {
  int not_ready = 0, done = 0;
  ProgressScope async(emu::Progress::kAsync);
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    cudaError_t last = cudaSuccess;
    const cudaError_t answer = query_fresh_work(seed, &last);
    ASSERT_TRUE(answer == cudaSuccess || answer == cudaErrorNotReady) << cudaGetErrorName(answer);
    EXPECT_EQ(last, answer) << "the runtime records a not-ready answer as the last error";
    (answer == cudaErrorNotReady ? not_ready : done) += 1;
  }
  EXPECT_GT(not_ready, 0);
  EXPECT_GT(done, 0);
  // Lazy progress completes the queried work; eager progress has completed it already.
  for (const emu::Progress p : {emu::Progress::kLazy, emu::Progress::kEager}) {
    ProgressScope scope(p);
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
      cudaError_t last = cudaSuccess;
      EXPECT_EQ(query_fresh_work(seed, &last), cudaSuccess);
    }
  }
}

// A launcher that first polls whether an earlier copy has left a buffer, then launches a kernel
// and returns its launch status, as the backend's launchers do. Planted (clear = false): the
// not-ready answer of the poll is not cleared, and the launch reports it.
cudaError_t poll_then_launch(cudaEvent_t earlier, float* out, bool clear) {
  if (cudaEventQuery(earlier) == cudaErrorNotReady && clear) cudaGetLastError();
  fill_iota(out, 64, nullptr);
  return cudaGetLastError();
}

TEST(EmulatedDevice, PlantedANotReadyQueryThatIsNotClearedFailsTheNextLaunch) {
  ProgressScope async(emu::Progress::kAsync);
  int failed = 0;
  for (const bool clear : {false, true}) {
    for (std::uint64_t seed = 1; seed <= 40; ++seed) {
      SeedScope scope(seed);
      float* x = device_alloc<float>(64);
      cudaEvent_t earlier = nullptr;
      ASSERT_EQ(cudaEventCreateWithFlags(&earlier, cudaEventDisableTiming), cudaSuccess);
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      fill_iota(x, 64, nullptr);
      ASSERT_EQ(cudaEventRecord(earlier, nullptr), cudaSuccess);
      const cudaError_t status = poll_then_launch(earlier, x, clear);
      if (clear) {
        EXPECT_EQ(status, cudaSuccess) << "seed " << seed;
      } else if (status != cudaSuccess) {
        EXPECT_EQ(status, cudaErrorNotReady);
        ++failed;
      }
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      ASSERT_EQ(cudaEventDestroy(earlier), cudaSuccess);
      ASSERT_EQ(cudaFreeAsync(x, nullptr), cudaSuccess);
    }
  }
  EXPECT_GT(failed, 0) << "no seed caught the missing clear";
}

TEST(EmulatedDevice, TheSameSeedGivesTheSameProgress) {
  ProgressScope async(emu::Progress::kAsync);
  auto answers = [](std::uint64_t seed) {
    std::vector<int> out;
    for (int k = 0; k < 12; ++k) {
      cudaError_t last = cudaSuccess;
      out.push_back(
          static_cast<int>(query_fresh_work(seed * 100 + static_cast<std::uint64_t>(k), &last)));
    }
    return out;
  };
  EXPECT_EQ(answers(3), answers(3));
  EXPECT_NE(answers(3), answers(4));
  EXPECT_NE(emu::schedule_description().find("MYELIN_EMU_SEED="), std::string::npos);
}

TEST(EmulatedDevice, CountsLaunchesCopiesAndWaits) {
  cudaStream_t s = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  float* x = device_alloc<float>(16, s);
  float* pinned = nullptr;
  CUDA_OK(cudaMallocHost(reinterpret_cast<void**>(&pinned), 16 * sizeof(float)));
  cudaEvent_t e = nullptr;
  CUDA_OK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  ProgressScope lazy(emu::Progress::kLazy);  // the query then completes the work
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
  EXPECT_EQ(d.copies_to_host, 2u);
  EXPECT_EQ(d.copies_to_device, 0u);
  EXPECT_EQ(d.event_queries, 1u);
  EXPECT_EQ(d.not_ready, 0u);
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
