// The launch geometry of the CUDA kernels, computed by host functions: tested on any machine.
#include <gtest/gtest.h>

#include <numeric>

#include "backends/launch_geometry.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

TEST(LaunchGeometry, ElementwiseSplitsVectorsAndTail) {
  const launch::Elementwise a = launch::elementwise(1003, 4, true, 132);
  EXPECT_EQ(a.vector_width, 4);
  EXPECT_EQ(a.vectors, 250);
  EXPECT_EQ(a.tail_start, 1000);
  EXPECT_EQ(a.tail, 3);
  EXPECT_EQ(a.blocks, 1);  // 250 vectors fit one block of 256 threads
  const launch::Elementwise u = launch::elementwise(1003, 4, false, 132);
  EXPECT_EQ(u.vector_width, 1);
  EXPECT_EQ(u.vectors, 1003);
  EXPECT_EQ(u.tail, 0);
  EXPECT_EQ(u.blocks, 4);
  // Large problems stop at kBlocksPerSm blocks per SM; the grid-stride loop does the rest.
  EXPECT_EQ(launch::elementwise(std::int64_t{1} << 30, 4, true, 132).blocks,
            132 * launch::kBlocksPerSm);
  EXPECT_EQ(launch::elementwise(0, 4, true, 132).blocks, 1);
  EXPECT_EQ(launch::elementwise(5, 8, true, 1).vector_width, 2);  // doubles: 2 per 16 bytes
  EXPECT_NE(test::error_of([] { launch::elementwise(10, 3, true, 1); }).find("3-byte"),
            std::string::npos);
}

TEST(LaunchGeometry, RowsUseAWarpUpTo1024ElementsThenABlock) {
  const launch::Rows warp = launch::rows(1000, 1024);
  EXPECT_TRUE(warp.warp_per_row);
  EXPECT_EQ(warp.rows_per_block, 8);
  EXPECT_EQ(warp.blocks, 125);
  EXPECT_EQ(launch::rows(1001, 10).blocks, 126);  // not a multiple of 8 rows
  EXPECT_EQ(launch::rows(1, 1).blocks, 1);
  const launch::Rows block = launch::rows(7, 1025);
  EXPECT_FALSE(block.warp_per_row);
  EXPECT_EQ(block.blocks, 7);
  EXPECT_EQ(block.threads, 512);
}

TEST(LaunchGeometry, ReductionsDependOnTheSizeOnly) {
  EXPECT_EQ(launch::reduce(0).chunks, 1);
  EXPECT_EQ(launch::reduce(8192).chunks, 1);
  EXPECT_EQ(launch::reduce(8193).chunks, 2);
  const launch::ChannelReduce columns = launch::channel_reduce(5000, 64, 1);
  EXPECT_TRUE(columns.columns);
  EXPECT_EQ(columns.chunk, 1024);
  EXPECT_EQ(columns.chunks, 5);
  const launch::ChannelReduce images = launch::channel_reduce(64, 16, 28 * 28);
  EXPECT_FALSE(images.columns);
  EXPECT_EQ(images.chunk, 8192 / 784);
  EXPECT_EQ(images.chunks, (64 + 10 - 1) / 10);
  EXPECT_EQ(launch::channel_reduce(3, 2, 100000).chunk, 1);  // huge images: one per chunk
  EXPECT_NE(test::error_of([] {
              launch::channel_reduce(std::int64_t{1} << 40, 1, 1);
            }).find("reduction chunks"),
            std::string::npos);
}

TEST(LaunchGeometry, MultiTensorChunksCoverEveryElementOnce) {
  const std::vector<std::int64_t> sizes = {10, 0, 65536, 65537, 1};
  const launch::ChunkTable t = launch::multi_tensor_chunks(sizes, 65536);
  ASSERT_EQ(t.tensor.size(), t.start.size());
  EXPECT_EQ(t.tensor, (std::vector<std::int32_t>{0, 2, 3, 3, 4}));
  EXPECT_EQ(t.start, (std::vector<std::int64_t>{0, 0, 0, 65536, 0}));
  // Every element in exactly one chunk.
  std::vector<std::int64_t> covered(sizes.size(), 0);
  for (std::size_t k = 0; k < t.tensor.size(); ++k) {
    const auto i = static_cast<std::size_t>(t.tensor[k]);
    covered[i] += std::min(t.chunk, sizes[i] - t.start[k]);
  }
  EXPECT_EQ(covered, sizes);
  EXPECT_TRUE(launch::multi_tensor_chunks({}).tensor.empty());
}

}  // namespace
}  // namespace myelin
