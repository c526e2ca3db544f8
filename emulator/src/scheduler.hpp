#pragma once

// The kernel scheduler's state, shared by its sources: a block of a grid with the fibers of its
// threads (scheduler.cpp runs them), and the barriers and warp collectives they stop at
// (scheduler_sync.cpp).

#include <boost/context/detail/fcontext.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace myelin::emu::detail {

struct Stack {
  char* base = nullptr;  // lowest address (a guard page below the usable part)
  std::size_t bytes = 0;
};

enum class State { kReady, kBarrier, kWarp, kDone };

struct Fiber {
  ThreadCoords coords{};
  int linear = 0;
  int warp = 0;
  int lane = 0;
  State state = State::kReady;
  boost::context::detail::fcontext_t context = nullptr;
  Stack stack;                 // held while the thread runs or waits
  bool abandoned = false;      // stopped by a fault, its frames left on the stack
  void* fake_stack = nullptr;  // AddressSanitizer's fake stack while switched out
  // At a barrier.
  const char* barrier_file = nullptr;
  int barrier_line = 0;
  int predicate = 0;
  // In a warp collective.
  std::uint64_t value = 0;
  int arg = 0;
  std::uint64_t result = 0;
};

struct Collective {
  WarpOp op;
  unsigned mask;
  int width;
  int size;
  unsigned arrived = 0;
};

struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    state += 0x9E3779B97F4A7C15ull;
    return mix(state);
  }
};

struct Block {
  const LaunchRequest* request = nullptr;
  int device = 0;
  uint3 block_idx{};
  std::vector<Fiber> fibers;
  std::vector<std::vector<Collective>> warps;  // open collectives per warp
  std::vector<unsigned> exited;                // lanes that have finished, per warp
  std::vector<int> ready;
  int at_barrier = 0;
  int done = 0;
  Rng rng{0};
  // Shared memory: static slots by declaration, then the dynamic part.
  std::vector<std::pair<const void*, std::size_t>> slots;  // key, offset
  std::size_t shared_used = 0;    // arena bytes taken by static slots and their redzones
  std::size_t shared_static = 0;  // bytes of static shared memory declared
  char* dynamic = nullptr;
  // The scheduler's context and stack (for the sanitizer) while a fiber runs.
  boost::context::detail::fcontext_t scheduler = nullptr;
  const void* scheduler_stack = nullptr;
  std::size_t scheduler_stack_bytes = 0;
  Fiber* running = nullptr;
  cudaError_t error = cudaSuccess;
  std::string message;
};

// The block running on the calling thread, or null outside a kernel (a call, not an extern
// thread_local: see coords() in myelin_emu/device.hpp).
Block* running_block();
std::string thread_name(const Fiber& f);
// Records the block's first fault, with where it happened.
void set_fault(Block& b, cudaError_t code, const std::string& message);
const char* op_name(WarpOp op);

// The running fiber stops at a synchronisation point (its state already set).
void yield_fiber();
// The running fiber found a fault: it stops for good, and so does its block.
[[noreturn]] void abandon_fiber(Block& b, Fiber& f);
void make_ready(Block& b, Fiber& f);
// Every live thread is at a barrier: check they are at the same one, then release them.
void release_barrier(Block& b);

}  // namespace myelin::emu::detail
