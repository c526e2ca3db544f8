#pragma once

// Loops of the CPU reference path. Elementwise loops split their range across OpenMP threads;
// reductions split their range into chunks of a fixed size (not one per thread) and add the
// partial sums in chunk order, so the result is the same bits for any thread count.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace myelin::cpu {

// Below this many elements a loop runs on the calling thread: waking the pool costs more.
inline constexpr std::int64_t kParallelGrain = 16384;
// Chunk length of ordered reductions. Part of the numerics contract: changing it changes bits.
inline constexpr std::int64_t kReduceChunk = 4096;

// Calls body(begin, end) over [0, n) in chunks of at least `grain`, possibly in parallel.
// The body must not throw.
template <typename Body>
void parallel_for(std::int64_t n, std::int64_t grain, const Body& body) {
  if (n <= 0) return;
  if (n <= grain) {
    body(std::int64_t{0}, n);
    return;
  }
  const std::int64_t chunks = (n + grain - 1) / grain;
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < chunks; ++c) {
    body(c * grain, std::min(n, (c + 1) * grain));
  }
}

template <typename Body>
void parallel_for(std::int64_t n, const Body& body) {
  parallel_for(n, kParallelGrain, body);
}

// Partial sums per chunk of an ordered reduction: element i of a chunk goes to lane i mod
// kReduceLanes, and the lanes are added pairwise at the end. Independent accumulators let the
// adds overlap and vectorise (one chain of dependent double adds runs at a quarter of the
// speed). Part of the numerics contract, as kReduceChunk.
inline constexpr int kReduceLanes = 8;

// sum_{i < n} term(i) in double, in a fixed order independent of the thread count.
template <typename Term>
double ordered_sum(std::int64_t n, const Term& term) {
  if (n <= 0) return 0.0;
  const std::int64_t chunks = (n + kReduceChunk - 1) / kReduceChunk;
  std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
  parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) {
      double lanes[kReduceLanes] = {};
      const std::int64_t begin = c * kReduceChunk, end = std::min(n, begin + kReduceChunk);
      std::int64_t i = begin;
      for (; i + kReduceLanes <= end; i += kReduceLanes) {
        for (int l = 0; l < kReduceLanes; ++l) lanes[l] += term(i + l);
      }
      for (int l = 0; i < end; ++i, ++l) lanes[l] += term(i);
      for (int width = kReduceLanes / 2; width > 0; width /= 2) {
        for (int l = 0; l < width; ++l) lanes[l] += lanes[l + width];
      }
      partial[static_cast<std::size_t>(c)] = lanes[0];
    }
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

// For data laid out [outer, channels, inner]: out[c] = sum over outer and inner of term(index)
// where index = (o * channels + c) * inner + s. Each channel is summed sequentially in (o, s)
// order in double; channels are spread over threads. Deterministic for any thread count.
template <typename Term>
void channel_sums(std::int64_t outer, std::int64_t channels, std::int64_t inner, const Term& term,
                  double* out) {
  const std::int64_t work_per_channel = std::max<std::int64_t>(1, outer * inner);
  const std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / work_per_channel);
  parallel_for(channels, grain, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t c = c0; c < c1; ++c) out[c] = 0.0;
    if (inner == 1) {  // column sums of a matrix (bias gradients): vectorised across columns
      for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t c = c0; c < c1; ++c) out[c] += term(o * channels + c);
      }
      return;
    }
    for (std::int64_t o = 0; o < outer; ++o) {
      for (std::int64_t c = c0; c < c1; ++c) {
        const std::int64_t base = (o * channels + c) * inner;
        double acc = out[c];
        for (std::int64_t s = 0; s < inner; ++s) acc += term(base + s);
        out[c] = acc;
      }
    }
  });
}

}  // namespace myelin::cpu
