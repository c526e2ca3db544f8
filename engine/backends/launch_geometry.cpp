#include "backends/launch_geometry.hpp"

#include <algorithm>

#include "myelin/error.hpp"

namespace myelin::launch {

namespace {
std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}
}  // namespace

Elementwise elementwise(std::int64_t n, int elem_bytes, bool aligned16, int sm_count) {
  if (n < 0 || elem_bytes <= 0 || 16 % elem_bytes != 0) {
    fail("launch geometry: bad elementwise problem (n ", n, ", ", elem_bytes, "-byte elements)");
  }
  Elementwise e;
  e.vector_width = aligned16 ? 16 / elem_bytes : 1;
  e.vectors = n / e.vector_width;
  e.tail_start = e.vectors * e.vector_width;
  e.tail = n - e.tail_start;
  const std::int64_t work = std::max<std::int64_t>(e.vectors, e.tail);
  const std::int64_t cap = static_cast<std::int64_t>(std::max(sm_count, 1)) * kBlocksPerSm;
  e.blocks = static_cast<int>(std::clamp<std::int64_t>(ceil_div(work, kThreads), 1, cap));
  return e;
}

Rows rows(std::int64_t rows, std::int64_t cols) {
  if (rows < 0 || cols < 0) fail("launch geometry: bad row problem ", rows, " x ", cols);
  Rows r;
  r.warp_per_row = cols <= kWarpRowLimit;
  if (r.warp_per_row) {
    r.rows_per_block = kThreads / kWarp;
    r.blocks = static_cast<int>(std::max<std::int64_t>(1, ceil_div(rows, r.rows_per_block)));
  } else {
    r.rows_per_block = 1;
    r.threads = 512;  // long rows: more threads per row, still one block per SM slot
    r.blocks = static_cast<int>(std::max<std::int64_t>(1, rows));
  }
  return r;
}

Reduce reduce(std::int64_t n) {
  if (n < 0) fail("launch geometry: negative reduction size ", n);
  Reduce r;
  r.chunks = std::max<std::int64_t>(1, ceil_div(n, kReduceChunk));
  return r;
}

ChannelReduce channel_reduce(std::int64_t outer, std::int64_t channels, std::int64_t inner) {
  if (outer < 0 || channels < 0 || inner < 1) {
    fail("launch geometry: bad channel reduction [", outer, ", ", channels, ", ", inner, "]");
  }
  ChannelReduce r;
  r.columns = inner == 1;
  r.chunk = r.columns ? kColumnChunk : std::max<std::int64_t>(1, kReduceChunk / inner);
  r.chunks = std::max<std::int64_t>(1, ceil_div(outer, r.chunk));
  if (r.chunks > kMaxGridY) {
    fail("launch geometry: ", outer, " rows need ", r.chunks, " reduction chunks, more than the ",
         kMaxGridY, " a grid allows");
  }
  return r;
}

ChunkTable multi_tensor_chunks(const std::vector<std::int64_t>& sizes, std::int64_t chunk) {
  if (chunk <= 0) fail("launch geometry: chunk size must be positive, got ", chunk);
  ChunkTable t;
  t.chunk = chunk;
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    if (sizes[k] < 0) fail("launch geometry: tensor ", k, " has negative size ", sizes[k]);
    for (std::int64_t start = 0; start < sizes[k]; start += chunk) {
      t.tensor.push_back(static_cast<std::int32_t>(k));
      t.start.push_back(start);
    }
  }
  return t;
}

}  // namespace myelin::launch
