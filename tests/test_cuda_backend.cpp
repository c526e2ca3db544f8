// The CUDA backend's own state: a graph is never replayed once memory it points to was replaced
// (the scratch buffer grew), an aborted capture leaves the calling thread's current device as it
// found it, and batches are written on the host once, into pinned memory. Internal: built with
// the CUDA backend only.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "backends/backend.hpp"
#include "backends/cuda/context.hpp"
#include "kernels/elementwise.hpp"
#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

std::unique_ptr<ExecutionBackend> cuda_backend(int device) {
  BackendOptions options;
  options.device = Device::cuda(device);
  return make_execution_backend(options);
}

// A graph that writes into the context's scratch buffer (as the reductions of a training step
// do), then a scratch request larger than the buffer: it is replaced, so the graph must go.
TEST(CudaGraphs, AGraphIsDroppedWhenTheScratchBufferItWritesIsReplaced) {
  MYELIN_REQUIRE_GPU();
  std::unique_ptr<ExecutionBackend> backend = cuda_backend(0);
  ASSERT_TRUE(backend->supports_graphs());
  DeviceContext& dc = *backend->context();
  const std::unique_ptr<DeviceScopeGuard> scope = backend->enter();
  auto* first = static_cast<std::uint64_t*>(dc.scratch(64));
  backend->begin_capture();
  MYELIN_LAUNCH(dc, kernels::launch_write_u64(first, 7, dc.stream));
  backend->end_capture("step");
  ASSERT_TRUE(backend->has_graph("step"));
  backend->launch_graph("step");
  backend->synchronize();
  void* grown = dc.scratch(std::size_t{16} << 20);  // far past the first buffer
  ASSERT_NE(grown, static_cast<void*>(first));
  EXPECT_FALSE(backend->has_graph("step")) << "a graph that writes into freed memory was kept";
  backend->synchronize();
}

// An executor's device context on cuda:1 while cuda:0 is current: a capture that fails part way
// is ended on cuda:1, and cuda:0 is current again afterwards.
TEST(CudaMultiDevice, AnAbortedCaptureLeavesTheCurrentDeviceAsItWas) {
  MYELIN_REQUIRE_GPU();
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs two GPUs";
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  std::unique_ptr<ExecutionBackend> backend = cuda_backend(1);
  backend->begin_capture();
  int current = -1;
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, 0) << "beginning the capture";
  backend->abort_capture();
  ASSERT_EQ(cudaGetDevice(&current), cudaSuccess);
  EXPECT_EQ(current, 0) << "aborting the capture left cuda:" << current << " current";
  EXPECT_FALSE(backend->has_graph("step"));
}

// A training run's batches are gathered straight into the pinned buffers their uploads copy
// from: no upload copies its batch on the host a second time.
TEST(CudaBackend, EachBatchIsWrittenOnTheHostOnceStraightIntoPinnedMemory) {
  MYELIN_REQUIRE_GPU();
  Graph g(5);
  const Value x = g.input("x", Shape{8, 6});
  const Value y = g.input("y", Shape{8}, DType::kInt64);
  const Value loss = g.softmax_cross_entropy(g.linear_layer(x, 3, {}, "fc"), y);
  TrainOptions options;
  options.executor.device = Device::cuda(0);
  options.batch_size = 8;
  options.epochs = 2;
  Optimizer sgd(OptimizerOptions::sgd(0.1));
  Trainer trainer(g, loss, sgd, options);
  TensorSource source(g, {{x, test::random_tensor(Shape{40, 6}, 1, -1, 1, DType::kFloat32)},
                          {y, test::random_labels(40, 3, 2)}});
  DeviceContext& dc = *trainer.executor().execution_backend().context();
  std::vector<std::uint64_t> staged;  // at the end of each epoch
  trainer.on_epoch = [&](const EpochInfo&) { staged.push_back(dc.staged_copies); };
  trainer.fit(source);
  ASSERT_EQ(staged.size(), 2u);
  // The first epoch uploads the loss's seed gradient once; no batch is copied on the host twice.
  EXPECT_LE(staged[0], 1u);
  EXPECT_EQ(staged[1], staged[0]) << "the second epoch's 5 batches were copied on the host again";
  const Tensor batch = trainer.executor().input_staging(x, Shape{8, 6}, DType::kFloat32);
  cudaPointerAttributes where{};
  ASSERT_EQ(cudaPointerGetAttributes(&where, batch.raw()), cudaSuccess);
  EXPECT_EQ(where.type, cudaMemoryTypeHost) << "not pinned memory";
  // A tensor of the caller's own is still uploaded, through a copy into the staging buffer.
  trainer.executor().set_input(x, test::random_tensor(Shape{8, 6}, 3, -1, 1, DType::kFloat32));
  EXPECT_EQ(dc.staged_copies, staged[1] + 1);
}

}  // namespace
}  // namespace myelin
