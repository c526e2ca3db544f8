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
#include <sys/mman.h>
#include <boost/context/detail/fcontext.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "internal.hpp"

#if defined(MYELIN_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace myelin::emu::detail {

namespace {

thread_local const ThreadCoords* current_coords = nullptr;

namespace ctx = boost::context::detail;

constexpr std::size_t kStackBytes = 256 * 1024;
constexpr std::size_t kSharedRedzone = 64;
constexpr std::size_t kSharedPerBlock = 48 * 1024;

struct Stack {
  char* base = nullptr;  // lowest address (a guard page below the usable part)
  std::size_t bytes = 0;
};

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
  void put(Stack s) {
    // A fiber abandoned after a fault leaves its frames' sanitizer poison behind.
    unpoison(s.base, s.bytes);
    free_.push_back(s);
  }

 private:
  std::vector<Stack> free_;
};

enum class State { kReady, kBarrier, kWarp, kDone };

struct Fiber {
  ThreadCoords coords{};
  int linear = 0;
  int warp = 0;
  int lane = 0;
  State state = State::kReady;
  ctx::fcontext_t context = nullptr;
  Stack stack;
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

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::kSync:
      return "__syncwarp";
    case WarpOp::kShfl:
      return "__shfl_sync";
    case WarpOp::kShflUp:
      return "__shfl_up_sync";
    case WarpOp::kShflDown:
      return "__shfl_down_sync";
    case WarpOp::kShflXor:
      return "__shfl_xor_sync";
    case WarpOp::kBallot:
      return "__ballot_sync";
    case WarpOp::kAny:
      return "__any_sync";
    case WarpOp::kAll:
      return "__all_sync";
    case WarpOp::kReduceAdd:
      return "__reduce_add_sync";
    case WarpOp::kReduceMin:
    case WarpOp::kReduceMinSigned:
      return "__reduce_min_sync";
    case WarpOp::kReduceMax:
    case WarpOp::kReduceMaxSigned:
      return "__reduce_max_sync";
  }
  return "a warp collective";
}

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
  ctx::fcontext_t scheduler = nullptr;
  const void* scheduler_stack = nullptr;
  std::size_t scheduler_stack_bytes = 0;
  Fiber* running = nullptr;
  cudaError_t error = cudaSuccess;
  std::string message;
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

// The running fiber stops at a synchronisation point (its state already set).
void yield_fiber() {
  Block& b = *t_block;
  Fiber& f = *b.running;
  switch_to_scheduler(b, f, /*dying=*/false);
}

// The running fiber found a fault: it stops for good, and so does its block.
[[noreturn]] void abandon_fiber(Block& b, Fiber& f) {
  f.state = State::kDone;
  switch_to_scheduler(b, f, /*dying=*/true);
  std::abort();
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

void make_ready(Block& b, Fiber& f) {
  f.state = State::kReady;
  b.ready.push_back(f.linear);
}

// ---- barriers -----------------------------------------------------------------------------------

std::string barrier_site(const Fiber& f) {
  return std::string(f.barrier_file) + ":" + std::to_string(f.barrier_line);
}

// Every live thread is at a barrier: check they are at the same one, then release them.
void release_barrier(Block& b) {
  const int total = static_cast<int>(b.fibers.size());
  if (b.done > 0) {
    const Fiber* waiting = nullptr;
    for (const Fiber& f : b.fibers) {
      if (f.state == State::kBarrier) waiting = &f;
    }
    set_fault(b, cudaErrorLaunchFailure,
              std::to_string(b.at_barrier) + " of " + std::to_string(total) +
                  " threads wait at __syncthreads() (" + barrier_site(*waiting) + ") but " +
                  std::to_string(b.done) + " have already finished");
    return;
  }
  const Fiber& first = b.fibers.front();
  for (const Fiber& f : b.fibers) {
    if (f.barrier_file != first.barrier_file || f.barrier_line != first.barrier_line) {
      set_fault(b, cudaErrorLaunchFailure,
                "threads wait at different __syncthreads(): " + thread_name(first) + " at " +
                    barrier_site(first) + ", " + thread_name(f) + " at " + barrier_site(f));
      return;
    }
  }
  b.at_barrier = 0;
  for (Fiber& f : b.fibers) make_ready(b, f);
}

int arrive(const char* file, int line, int predicate, int how) {
  Block* b = t_block;
  if (b == nullptr || b->running == nullptr) outside_kernel("__syncthreads");
  Fiber& f = *b->running;
  f.state = State::kBarrier;
  f.barrier_file = file;
  f.barrier_line = line;
  f.predicate = predicate;
  ++b->at_barrier;
  yield_fiber();
  // Released: every thread of the block took part.
  int count = 0, all = 1, any = 0;
  for (const Fiber& other : t_block->fibers) {
    count += other.predicate;
    all &= other.predicate;
    any |= other.predicate;
  }
  return how == 0 ? count : (how == 1 ? all : any);
}

// ---- warp collectives ---------------------------------------------------------------------------

std::uint64_t combine(const Collective& c, const Block& b, int warp, const Fiber& self,
                      bool* bad_source, int* source) {
  const std::size_t base = static_cast<std::size_t>(warp) * 32;
  auto value_of = [&](int lane) { return b.fibers[base + static_cast<std::size_t>(lane)].value; };
  const int lane = self.lane;
  const int width = c.width;
  const int segment = lane / width * width;
  int src = lane;
  switch (c.op) {
    case WarpOp::kSync:
      return 0;
    case WarpOp::kShfl:
      src = segment + ((self.arg % width) + width) % width;
      break;
    case WarpOp::kShflUp:
      src = lane - self.arg >= segment ? lane - self.arg : lane;
      break;
    case WarpOp::kShflDown:
      src = lane + self.arg < segment + width ? lane + self.arg : lane;
      break;
    case WarpOp::kShflXor: {
      const int other = lane ^ self.arg;
      src = other >= segment && other < segment + width ? other : lane;
      break;
    }
    default: {
      std::uint64_t acc = 0;
      bool first = true;
      for (int l = 0; l < 32; ++l) {
        if ((c.mask & (1u << l)) == 0) continue;
        const std::uint64_t v = value_of(l);
        const auto u = static_cast<std::uint32_t>(v);
        const auto s = static_cast<std::int32_t>(u);
        switch (c.op) {
          case WarpOp::kBallot:
            acc |= (v != 0 ? 1ull : 0ull) << l;
            break;
          case WarpOp::kAny:
            acc = acc | (v != 0 ? 1u : 0u);
            break;
          case WarpOp::kAll:
            acc = first ? (v != 0 ? 1u : 0u) : (acc & (v != 0 ? 1u : 0u));
            break;
          case WarpOp::kReduceAdd:
            acc = static_cast<std::uint32_t>(acc + u);
            break;
          case WarpOp::kReduceMin:
            acc = first ? u : std::min<std::uint64_t>(acc, u);
            break;
          case WarpOp::kReduceMax:
            acc = first ? u : std::max<std::uint64_t>(acc, u);
            break;
          case WarpOp::kReduceMinSigned:
            acc = static_cast<std::uint32_t>(
                first ? s
                      : std::min(s, static_cast<std::int32_t>(static_cast<std::uint32_t>(acc))));
            break;
          case WarpOp::kReduceMaxSigned:
            acc = static_cast<std::uint32_t>(
                first ? s
                      : std::max(s, static_cast<std::int32_t>(static_cast<std::uint32_t>(acc))));
            break;
          default:
            break;
        }
        first = false;
      }
      return acc;
    }
  }
  if ((c.mask & (1u << src)) == 0) {
    *bad_source = true;
    *source = src;
    return 0;
  }
  return value_of(src);
}

}  // namespace

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

void block_barrier(const char* file, int line) {
  arrive(file, line, 0, 0);
}

int block_barrier_reduce(const char* file, int line, int predicate, int how) {
  return arrive(file, line, predicate, how);
}

unsigned active_mask() {
  Block* b = t_block;
  if (b == nullptr || b->running == nullptr) outside_kernel("__activemask");
  const Fiber& f = *b->running;
  unsigned lanes = 0;
  const std::size_t base = static_cast<std::size_t>(f.warp) * 32;
  for (std::size_t l = 0; l < 32 && base + l < b->fibers.size(); ++l) lanes |= 1u << l;
  return lanes & ~b->exited[static_cast<std::size_t>(f.warp)];
}

namespace {

// Why a warp collective call is invalid, or "" (built apart from the fiber's frame, which a fault
// abandons without running destructors).
std::string collective_error(const Block& b, const Fiber& f, WarpOp op, unsigned mask, int width) {
  std::ostringstream m;
  const unsigned me = 1u << f.lane;
  if ((mask & me) == 0) {
    m << thread_name(f) << " calls " << op_name(op) << " with mask 0x" << std::hex << mask
      << ", which does not name it";
    return m.str();
  }
  if (width <= 0 || width > 32 || (width & (width - 1)) != 0) {
    m << thread_name(f) << " calls " << op_name(op) << " with width " << width
      << " (a power of two up to 32)";
    return m.str();
  }
  // Lanes that do not exist (a partial last warp) or have finished cannot take part.
  const std::size_t base = static_cast<std::size_t>(f.warp) * 32;
  unsigned exists = 0;
  for (std::size_t l = 0; l < 32 && base + l < b.fibers.size(); ++l) exists |= 1u << l;
  const unsigned gone = (mask & ~exists) | (mask & b.exited[static_cast<std::size_t>(f.warp)]);
  if (gone != 0) {
    m << thread_name(f) << " calls " << op_name(op) << " with mask 0x" << std::hex << mask
      << ", but lanes 0x" << gone << " of it have finished or do not exist";
    return m.str();
  }
  return "";
}

std::string bad_source_error(const Fiber& lane, int source, WarpOp op, unsigned mask) {
  std::ostringstream m;
  m << thread_name(lane) << " reads lane " << source << " in " << op_name(op) << " with mask 0x"
    << std::hex << mask << ", which does not name that lane";
  return m.str();
}

}  // namespace

std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t bits, int size, int arg,
                              int width) {
  Block* bp = t_block;
  if (bp == nullptr || bp->running == nullptr) outside_kernel(op_name(op));
  Block& b = *bp;
  Fiber& f = *b.running;
  const unsigned me = 1u << f.lane;
  const std::size_t base = static_cast<std::size_t>(f.warp) * 32;
  if (!collective_error(b, f, op, mask, width).empty()) {
    set_fault(b, cudaErrorLaunchFailure, collective_error(b, f, op, mask, width));
    abandon_fiber(b, f);
  }
  // Join the open collective of this kind and mask, or open one. Lanes run at their own pace:
  // this lane may still be named by another open collective it has not reached yet; if that can
  // never complete, the block ends in a deadlock the scheduler reports.
  auto& open = b.warps[static_cast<std::size_t>(f.warp)];
  Collective* c = nullptr;
  for (Collective& candidate : open) {
    if (candidate.op == op && candidate.mask == mask && candidate.width == width &&
        (candidate.arrived & me) == 0) {
      c = &candidate;
      break;
    }
  }
  if (c == nullptr) {
    open.push_back(Collective{op, mask, width, size});
    c = &open.back();
  }
  f.value = bits;
  f.arg = arg;
  f.state = State::kWarp;
  c->arrived |= me;
  if (c->arrived == mask) {
    // Complete: every named lane gets its result, then all continue in a random order.
    const Collective done = *c;
    open.erase(open.begin() + (c - open.data()));
    for (int l = 0; l < 32; ++l) {
      if ((done.mask & (1u << l)) == 0) continue;
      Fiber& lane = b.fibers[base + static_cast<std::size_t>(l)];
      bool bad = false;
      int source = 0;
      lane.result = combine(done, b, f.warp, lane, &bad, &source);
      if (bad) {
        set_fault(b, cudaErrorLaunchFailure, bad_source_error(lane, source, done.op, done.mask));
        abandon_fiber(b, f);
      }
      // This lane too: it yields below, and the scheduler picks who runs next.
      make_ready(b, lane);
    }
  }
  yield_fiber();
  return t_block->running->result;
}

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
    f.stack = t_stacks.get();
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
    resume(b, f);
  }
  for (Fiber& f : b.fibers) t_stacks.put(f.stack);
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
