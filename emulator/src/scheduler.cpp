// Kernel execution on the emulated device. The blocks of a grid run one after another in an
// order drawn from the schedule seed; the threads of a block are fibers (Boost.Context's
// fcontext, switching in tens of nanoseconds) on the calling host thread. A fiber runs until it
// reaches a synchronisation point (a block barrier or a warp collective) or ends; the scheduler
// then resumes another ready fiber, picked at random. A barrier releases its threads when every
// thread of the block has reached it (at the same source line); a warp collective completes
// when every lane its mask names has called it with the same mask. Anything else is a fault:
// threads that reach different barriers or leave before one, a lane that is not in its own mask
// or that never takes part, a shuffle reading a lane outside the mask. AddressSanitizer is told
// about every fiber switch.
// Barriers and warp collectives are in scheduler_sync.cpp.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

#include "scheduler.hpp"

#if defined(MYELIN_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace myelin::emu::detail {

namespace {

thread_local const ThreadCoords* current_coords = nullptr;

namespace ctx = boost::context::detail;

constexpr std::size_t kStackBytes = 256 * 1024;
constexpr std::size_t kEntryFrameBytes = 16 * 1024;  // bounds fiber_main's frame and the switch's
constexpr std::size_t kSharedRedzone = 64;
constexpr std::size_t kSharedPerBlock = 48 * 1024;

// Fiber stacks, kept for reuse: mapped once, a guard page at the bottom catches overflow.
class StackPool {
 public:
  Stack get() {
    if (!free_.empty()) {
      Stack s = free_.back();
      free_.pop_back();
      return s;
    }
    const std::size_t guard = 4096;
    void* p = mmap(nullptr, kStackBytes + guard, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "emulated device: cannot map a fiber stack\n");
      std::abort();
    }
    mprotect(p, guard, PROT_NONE);
    return Stack{static_cast<char*>(p) + guard, kStackBytes};
  }
  // Returns a stack. A fiber abandoned after a fault leaves its frames' sanitizer poison behind
  // anywhere on it; one that finished leaves only its entry frame's, at the top (the frames it
  // returned from cleaned up after themselves).
  void put(Stack s, bool abandoned) {
    const std::size_t top = std::min<std::size_t>(s.bytes, kEntryFrameBytes);
    if (abandoned) {
      unpoison(s.base, s.bytes);
    } else {
      unpoison(s.base + s.bytes - top, top);
    }
    free_.push_back(s);
  }

 private:
  std::vector<Stack> free_;
};

thread_local Block* t_block = nullptr;
thread_local StackPool t_stacks;
thread_local bool t_in_device = false;

// Shared memory arena of the running block (48 KiB of static and dynamic shared memory, with a
// redzone after each declaration).
constexpr std::size_t kSharedArena = kSharedPerBlock + 64 * kSharedRedzone;
thread_local std::vector<char> t_arena;

std::string where(const Block& b) {
  std::ostringstream out;
  out << "kernel " << b.request->name << " block (" << b.block_idx.x << "," << b.block_idx.y << ","
      << b.block_idx.z << ")";
  return out.str();
}

}  // namespace

Block* running_block() {
  return t_block;
}

std::string thread_name(const Fiber& f) {
  std::ostringstream out;
  out << "thread (" << f.coords.thread_idx.x << "," << f.coords.thread_idx.y << ","
      << f.coords.thread_idx.z << ") [warp " << f.warp << " lane " << f.lane << "]";
  return out.str();
}

void set_fault(Block& b, cudaError_t code, const std::string& message) {
  if (b.error != cudaSuccess) return;
  b.error = code;
  b.message = where(b) + ": " + message;
}

// ---- fiber switching ----------------------------------------------------------------------------

namespace {

void enter_fiber_sanitizer(Block& b, Fiber& f) {
#if defined(MYELIN_EMU_ASAN)
  // The first switch into a fiber learns the scheduler's stack from the sanitizer.
  __sanitizer_finish_switch_fiber(f.fake_stack, &b.scheduler_stack, &b.scheduler_stack_bytes);
#else
  (void)b;
  (void)f;
#endif
}

// From a fiber back to the scheduler. `dying`: the fiber will not be resumed.
void switch_to_scheduler(Block& b, Fiber& f, bool dying) {
#if defined(MYELIN_EMU_ASAN)
  __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, b.scheduler_stack,
                                 b.scheduler_stack_bytes);
#else
  (void)dying;
#endif
  const ctx::transfer_t back = ctx::jump_fcontext(b.scheduler, nullptr);
  // Resumed: the scheduler passed its new context.
  Block& now = *t_block;
  now.scheduler = back.fctx;
  enter_fiber_sanitizer(now, f);
}

void fiber_main(ctx::transfer_t in) {
  Block& b = *t_block;
  b.scheduler = in.fctx;
  Fiber& f = *static_cast<Fiber*>(in.data);
  f.fake_stack = nullptr;
  enter_fiber_sanitizer(b, f);
  b.request->body();
  // The thread has finished.
  Block& now = *t_block;
  f.state = State::kDone;
  ++now.done;
  now.exited[static_cast<std::size_t>(f.warp)] |= 1u << f.lane;
  for (const Collective& c : now.warps[static_cast<std::size_t>(f.warp)]) {
    if ((c.mask & (1u << f.lane)) != 0 && (c.arrived & (1u << f.lane)) == 0) {
      std::ostringstream m;
      m << thread_name(f) << " finished without taking part in " << op_name(c.op) << " with mask 0x"
        << std::hex << c.mask << ", which names it";
      set_fault(now, cudaErrorLaunchFailure, m.str());
    }
  }
  if (now.at_barrier > 0) {
    for (const Fiber& other : now.fibers) {
      if (other.state != State::kBarrier) continue;
      set_fault(now, cudaErrorLaunchFailure,
                thread_name(f) + " finished while other threads wait at __syncthreads() (" +
                    std::string(other.barrier_file) + ":" + std::to_string(other.barrier_line) +
                    ")");
      break;
    }
  }
  switch_to_scheduler(now, f, /*dying=*/true);
  std::abort();  // never resumed
}

void resume(Block& b, Fiber& f) {
  b.running = &f;
  current_coords = &f.coords;
  void* scheduler_fake = nullptr;
#if defined(MYELIN_EMU_ASAN)
  __sanitizer_start_switch_fiber(&scheduler_fake, f.stack.base, f.stack.bytes);
#endif
  if (f.context == nullptr) {
    f.context = ctx::make_fcontext(f.stack.base + f.stack.bytes, f.stack.bytes, &fiber_main);
  }
  const ctx::transfer_t back = ctx::jump_fcontext(f.context, &f);
#if defined(MYELIN_EMU_ASAN)
  __sanitizer_finish_switch_fiber(scheduler_fake, nullptr, nullptr);
#else
  (void)scheduler_fake;
#endif
  f.context = f.state == State::kDone ? nullptr : back.fctx;
  b.running = nullptr;
  current_coords = nullptr;
}

}  // namespace

void yield_fiber() {
  Block& b = *t_block;
  Fiber& f = *b.running;
  switch_to_scheduler(b, f, /*dying=*/false);
}

[[noreturn]] void abandon_fiber(Block& b, Fiber& f) {
  f.state = State::kDone;
  f.abandoned = true;
  switch_to_scheduler(b, f, /*dying=*/true);
  std::abort();
}

void make_ready(Block& b, Fiber& f) {
  f.state = State::kReady;
  b.ready.push_back(f.linear);
}

[[noreturn]] void outside_kernel(const char* what) {
  std::fprintf(stderr,
               "emulated device: %s used outside an emulated kernel (host code cannot use the "
               "device built-ins)\n",
               what);
  std::abort();
}

const ThreadCoords& coords(const char* what) {
  if (current_coords == nullptr) outside_kernel(what);
  return *current_coords;
}

// ---- shared memory ------------------------------------------------------------------------------

void* shared_slot(const void* key, std::size_t bytes, std::size_t align) {
  Block* b = t_block;
  if (b == nullptr || b->running == nullptr) outside_kernel("shared memory");
  for (const auto& [k, offset] : b->slots) {
    if (k == key) return t_arena.data() + offset;
  }
  const std::size_t offset = (b->shared_used + align - 1) / align * align;
  const std::size_t dynamic = b->request->shared_bytes;
  const std::size_t arena_end = b->dynamic != nullptr
                                    ? static_cast<std::size_t>(b->dynamic - t_arena.data())
                                    : t_arena.size();
  if (b->shared_static + bytes + dynamic > kSharedPerBlock ||
      offset + bytes + kSharedRedzone > arena_end) {
    set_fault(*b, cudaErrorInvalidValue,
              "static shared memory (" + std::to_string(b->shared_static + bytes) +
                  " bytes) and dynamic (" + std::to_string(dynamic) +
                  " bytes) exceed the 48 KiB of a block");
    abandon_fiber(*b, *b->running);
  }
  char* p = t_arena.data() + offset;
  unpoison(p, bytes);
  std::memset(p, kFreshByte, bytes);
  b->slots.emplace_back(key, offset);
  b->shared_used = offset + bytes + kSharedRedzone;
  b->shared_static += bytes;
  return p;
}

void* dynamic_shared() {
  Block* b = t_block;
  if (b == nullptr || b->running == nullptr) outside_kernel("dynamic shared memory");
  return b->dynamic;
}

// ---- grids and blocks ---------------------------------------------------------------------------

namespace {

std::string deadlock_report(const Block& b) {
  std::ostringstream m;
  m << "no thread can continue:";
  if (b.at_barrier > 0) m << " " << b.at_barrier << " threads wait at __syncthreads();";
  for (std::size_t w = 0; w < b.warps.size(); ++w) {
    for (const Collective& c : b.warps[w]) {
      m << " warp " << w << " waits in " << op_name(c.op) << " with mask 0x" << std::hex << c.mask
        << " for lanes 0x" << (c.mask & ~c.arrived) << std::dec << ";";
    }
  }
  return m.str();
}

// Checks the raw pointer parameters of a launch: device memory of this device, or pinned host
// memory (mapped into the device's address space on a real GPU).
cudaError_t check_pointers(const LaunchRequest& r, int device) {
  for (std::size_t k = 0; k < r.pointer_args.size(); ++k) {
    const void* p = r.pointer_args[k];
    if (p == nullptr || is_pinned(p, 1)) continue;
    const int owner = device_of(p);
    if (owner == device) continue;
    std::ostringstream m;
    m << "kernel " << r.name << ": pointer argument " << k << " (" << p << ") is "
      << (owner >= 0 ? "memory of cuda:" + std::to_string(owner) +
                           ", not of cuda:" + std::to_string(device)
                     : std::string("host memory, which the device cannot read"));
    return fault(cudaErrorIllegalAddress, m.str());
  }
  return cudaSuccess;
}

void run_block(Block& b) {
  const dim3 bd = b.request->block;
  const int n = static_cast<int>(bd.x * bd.y * bd.z);
  b.fibers.assign(static_cast<std::size_t>(n), Fiber{});
  b.warps.assign(static_cast<std::size_t>((n + 31) / 32), {});
  b.exited.assign(b.warps.size(), 0u);
  b.ready.clear();
  for (int i = 0; i < n; ++i) {
    Fiber& f = b.fibers[static_cast<std::size_t>(i)];
    f.linear = i;
    f.warp = i / 32;
    f.lane = i % 32;
    f.coords.thread_idx =
        uint3{static_cast<unsigned>(i) % bd.x, static_cast<unsigned>(i) / bd.x % bd.y,
              static_cast<unsigned>(i) / (bd.x * bd.y)};
    f.coords.block_idx = b.block_idx;
    f.coords.block_dim = bd;
    f.coords.grid_dim = b.request->grid;
    b.ready.push_back(i);
  }
  while (b.error == cudaSuccess) {
    if (b.ready.empty()) {
      if (b.done == n) break;
      if (b.at_barrier > 0 && b.at_barrier + b.done == n) {
        release_barrier(b);
        continue;
      }
      set_fault(b, cudaErrorLaunchFailure, deadlock_report(b));
      break;
    }
    const std::size_t pick = static_cast<std::size_t>(b.rng.next() % b.ready.size());
    std::swap(b.ready[pick], b.ready.back());
    Fiber& f = b.fibers[static_cast<std::size_t>(b.ready.back())];
    b.ready.pop_back();
    // A stack only while the thread runs or waits: a thread that runs to its end without waiting
    // hands it to the next (a hot stack instead of one per thread of the block).
    if (f.stack.base == nullptr) f.stack = t_stacks.get();
    resume(b, f);
    if (f.state == State::kDone) {
      t_stacks.put(f.stack, f.abandoned);
      f.stack = Stack{};
    }
  }
  // Threads left waiting or abandoned after a fault.
  for (Fiber& f : b.fibers) {
    if (f.stack.base != nullptr) t_stacks.put(f.stack, /*abandoned=*/true);
  }
}

}  // namespace

cudaError_t run_grid(const LaunchRequest& request, int device, std::uint64_t seed) {
  const cudaError_t bad = check_pointers(request, device);
  if (bad != cudaSuccess) return bad;
  const dim3 g = request.grid;
  const std::uint64_t blocks = static_cast<std::uint64_t>(g.x) * g.y * g.z;
  // A random permutation of the blocks (Fisher-Yates).
  std::vector<std::uint64_t> order(blocks);
  for (std::uint64_t i = 0; i < blocks; ++i) order[i] = i;
  Rng rng{seed};
  for (std::uint64_t i = blocks; i > 1; --i) std::swap(order[i - 1], order[rng.next() % i]);
  if (t_arena.size() != kSharedArena) t_arena.assign(kSharedArena, 0);
  const bool was_in_device = t_in_device;
  t_in_device = true;
  cudaError_t result = cudaSuccess;
  for (std::uint64_t index : order) {
    Block b;
    b.request = &request;
    b.device = device;
    b.block_idx =
        uint3{static_cast<unsigned>(index % g.x), static_cast<unsigned>(index / g.x % g.y),
              static_cast<unsigned>(index / (static_cast<std::uint64_t>(g.x) * g.y))};
    b.rng = Rng{mix(seed ^ mix(index + 1))};
    // Shared memory: everything poisoned, slots are opened as declarations are reached; the
    // dynamic part sits at the top of the arena.
    poison(t_arena.data(), t_arena.size());
    if (request.shared_bytes > 0) {
      b.dynamic = t_arena.data() + t_arena.size() - request.shared_bytes;
      b.dynamic -= reinterpret_cast<std::uintptr_t>(b.dynamic) % 16;
      unpoison(b.dynamic, request.shared_bytes);
      std::memset(b.dynamic, kFreshByte, request.shared_bytes);
    }
    Block* previous = t_block;
    t_block = &b;
    run_block(b);
    t_block = previous;
    if (b.error != cudaSuccess) {
      result = fault(b.error, b.message);
      break;
    }
  }
  unpoison(t_arena.data(), t_arena.size());
  t_in_device = was_in_device;
  return result;
}

bool in_device_now() {
  return t_in_device;
}

}  // namespace myelin::emu::detail

namespace myelin::emu {

bool in_device() {
  return detail::in_device_now();
}

}  // namespace myelin::emu
