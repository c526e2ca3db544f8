#pragma once

// Launch geometry of the CUDA kernels, computed on the host by plain functions so that it has
// its own CPU unit tests (tests/test_launch_geometry.cpp). Geometry that shapes a reduction
// depends on the problem size only, never on the device, so that the same inputs give the
// same bits on every GPU of a kind.

#include <cstdint>
#include <vector>

namespace myelin::launch {

inline constexpr int kThreads = 256;  // 8 warps: enough to hide latency, small enough to pack SMs
inline constexpr int kWarp = 32;
// Elementwise grids stop at this many blocks per SM; a grid-stride loop covers the rest.
inline constexpr int kBlocksPerSm = 8;

// An elementwise pass over n elements of elem_bytes each: 16-byte vectors where every pointer
// is 16-byte aligned, then a scalar tail.
struct Elementwise {
  int vector_width = 1;         // elements per vector
  std::int64_t vectors = 0;     // full vectors
  std::int64_t tail_start = 0;  // first element of the scalar tail
  std::int64_t tail = 0;        // elements in the tail
  int blocks = 1;
  int threads = kThreads;
};
Elementwise elementwise(std::int64_t n, int elem_bytes, bool aligned16, int sm_count);

// Row-wise kernels (softmax, cross-entropy): a warp per row for rows up to kWarpRowLimit
// elements (registers hold the row; shuffles reduce it), a block per row beyond.
inline constexpr std::int64_t kWarpRowLimit = 1024;
struct Rows {
  bool warp_per_row = true;
  int blocks = 1;
  int threads = kThreads;
  int rows_per_block = kThreads / kWarp;
};
Rows rows(std::int64_t rows, std::int64_t cols);

// Two-stage deterministic reductions. Stage one sums fixed chunks of kReduceChunk elements
// (one block each, a fixed tree inside the block); stage two adds the chunk sums in order.
inline constexpr std::int64_t kReduceChunk = 8192;
struct Reduce {
  std::int64_t chunk = kReduceChunk;
  std::int64_t chunks = 1;  // stage-one blocks = partial sums
};
Reduce reduce(std::int64_t n);

// Per-channel sums over [outer, channels, inner] (bias gradients: inner = 1; batch norm over
// [N, F]: inner = 1, over [N, C, H, W]: inner = H * W). With inner = 1 the data is a [rows,
// cols] matrix summed by columns: blocks of 32 columns x 8 row lanes over chunks of
// kColumnChunk rows. Otherwise blocks (channel, chunk of outer indices) of about kReduceChunk
// elements. The chunk sums are then added in chunk order.
inline constexpr std::int64_t kColumnChunk = 1024;
inline constexpr std::int64_t kMaxGridY = 65535;
struct ChannelReduce {
  bool columns = true;      // inner == 1
  std::int64_t chunk = 1;   // rows (columns layout) or outer indices per chunk
  std::int64_t chunks = 1;  // stage-one blocks along y; partial sums per channel
};
ChannelReduce channel_reduce(std::int64_t outer, std::int64_t channels, std::int64_t inner);

// The chunk table of a multi-tensor launch: chunk k covers elements [start[k], start[k] +
// kMultiTensorChunk) of tensor tensor[k] (clipped to its size). Empty tensors get no chunk.
inline constexpr std::int64_t kMultiTensorChunk = 65536;
struct ChunkTable {
  std::vector<std::int32_t> tensor;
  std::vector<std::int64_t> start;
  std::int64_t chunk = kMultiTensorChunk;
};
ChunkTable multi_tensor_chunks(const std::vector<std::int64_t>& sizes,
                               std::int64_t chunk = kMultiTensorChunk);

}  // namespace myelin::launch
