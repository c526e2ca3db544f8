#pragma once

// Helpers of the emulated device's tests (test_emulator_*.cpp): device buffers allocated in
// stream order, copies to and from the host, the bits of a float, and scopes for the schedule
// seed and the progress mode.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "myelin_emu/emulator.hpp"

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call << ": " << myelin::emu::last_fault()

namespace myelin::emu_test {

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

inline std::uint32_t bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Sets how device work progresses for a scope (the emulator's default is kAsync).
class ProgressScope {
 public:
  explicit ProgressScope(emu::Progress progress) : saved_(emu::progress()) {
    emu::set_progress(progress);
  }
  ~ProgressScope() { emu::set_progress(saved_); }

 private:
  emu::Progress saved_;
};

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

}  // namespace myelin::emu_test
