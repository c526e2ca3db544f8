#include "memory_plan.hpp"

#include <algorithm>
#include <numeric>

namespace myelin {

namespace {

std::size_t round_up(std::size_t bytes) {
  return (bytes + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

}  // namespace

BufferPlacement place_buffers(const std::vector<BufferRequest>& requests) {
  BufferPlacement result;
  result.offsets.assign(requests.size(), 0);
  std::vector<std::size_t> by_size(requests.size());
  std::iota(by_size.begin(), by_size.end(), std::size_t{0});
  std::stable_sort(by_size.begin(), by_size.end(), [&](std::size_t a, std::size_t b) {
    return requests[a].bytes > requests[b].bytes;
  });

  std::vector<std::size_t> placed;
  // Address ranges [begin, end) of the placed buffers that share a step with the current one.
  std::vector<std::pair<std::size_t, std::size_t>> busy;
  for (std::size_t r : by_size) {
    const BufferRequest& req = requests[r];
    const std::size_t size = round_up(req.bytes);
    result.naive_bytes += size;
    if (size == 0) continue;
    busy.clear();
    for (std::size_t p : placed) {
      const BufferRequest& other = requests[p];
      if (other.first <= req.last && req.first <= other.last) {
        busy.emplace_back(result.offsets[p], result.offsets[p] + round_up(other.bytes));
      }
    }
    std::sort(busy.begin(), busy.end());
    // The first gap from the bottom that holds the buffer.
    std::size_t offset = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= offset + size) break;
      offset = std::max(offset, end);
    }
    result.offsets[r] = offset;
    result.arena_bytes = std::max(result.arena_bytes, offset + size);
    placed.push_back(r);
  }
  return result;
}

}  // namespace myelin
