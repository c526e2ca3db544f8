// The emulated device's tests of its scheduler: the seed decides the thread order, so a missing
// barrier changes bits; bad masks, early exits, divergent barriers and unwritten shared memory
// show; warp collectives and dynamic shared memory work.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

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

}  // namespace
}  // namespace myelin::emu_test
