// Block barriers and warp collectives of the emulated device: the running fiber stops at one
// until every thread of its block has reached the barrier, or every lane the collective's mask
// names has called it; what does not match is a fault of the block.
#include <algorithm>
#include <sstream>
#include <string>

#include "scheduler.hpp"

namespace myelin::emu::detail {

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

// ---- barriers -----------------------------------------------------------------------------------

namespace {

std::string barrier_site(const Fiber& f) {
  return std::string(f.barrier_file) + ":" + std::to_string(f.barrier_line);
}

}  // namespace

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

namespace {

int arrive(const char* file, int line, int predicate, int how) {
  Block* b = running_block();
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
  for (const Fiber& other : running_block()->fibers) {
    count += other.predicate;
    all &= other.predicate;
    any |= other.predicate;
  }
  return how == 0 ? count : (how == 1 ? all : any);
}

}  // namespace

void block_barrier(const char* file, int line) {
  arrive(file, line, 0, 0);
}

int block_barrier_reduce(const char* file, int line, int predicate, int how) {
  return arrive(file, line, predicate, how);
}

// ---- warp collectives ---------------------------------------------------------------------------

namespace {

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

unsigned active_mask() {
  Block* b = running_block();
  if (b == nullptr || b->running == nullptr) outside_kernel("__activemask");
  const Fiber& f = *b->running;
  unsigned lanes = 0;
  const std::size_t base = static_cast<std::size_t>(f.warp) * 32;
  for (std::size_t l = 0; l < 32 && base + l < b->fibers.size(); ++l) lanes |= 1u << l;
  return lanes & ~b->exited[static_cast<std::size_t>(f.warp)];
}

std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t bits, int size, int arg,
                              int width) {
  Block* bp = running_block();
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
  return running_block()->running->result;
}

}  // namespace myelin::emu::detail
