#pragma once

// Placement of an executor's transient buffers in one arena by liveness: buffers that are never
// alive at the same time may share memory. Positions are the steps of one training pass
// (forward nodes, then the backward nodes); a buffer is alive from the step that first writes
// it to the step that last reads it, both included.

#include <cstddef>
#include <vector>

namespace myelin {

struct BufferRequest {
  std::size_t bytes = 0;
  int first = 0;  // first step that writes it
  int last = 0;   // last step that reads it (>= first)
};

struct BufferPlacement {
  std::vector<std::size_t> offsets;  // per request, a multiple of the alignment
  std::size_t arena_bytes = 0;       // what the arena must hold
  std::size_t naive_bytes = 0;       // every request in memory of its own (each rounded up)
};

// Every buffer starts at a multiple of this (256: what device libraries want, and a multiple of
// every host SIMD width).
inline constexpr std::size_t kArenaAlignment = 256;

// Largest buffers first, each at the lowest offset that overlaps no placed buffer alive at any
// of its steps. Deterministic: ties keep request order.
BufferPlacement place_buffers(const std::vector<BufferRequest>& requests);

}  // namespace myelin
