// The CUDA backend's own state around captured graphs: a graph is never replayed once memory it
// points to was replaced (the scratch buffer grew), and an aborted capture leaves the calling
// thread's current device as it found it. Internal: built with the CUDA backend only.
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

}  // namespace
}  // namespace myelin
