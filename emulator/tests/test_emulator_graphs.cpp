// The emulated device's tests of stream capture and CUDA Graphs: captured work does not run
// until the graph is launched, each launch runs it again with the captured arguments (reading
// memory as it is at that time), and the calls the global capture mode forbids fail and
// invalidate the capture, so that code which works here does not break on a real device.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "emulator/tests/test_kernels.hpp"
#include "emulator/tests/test_util.hpp"
#include "myelin_emu/emulator.hpp"

namespace myelin::emu_test {
namespace {

using namespace ::myelin::kernels::emulator_test;

class Capturing : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
    ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&pinned_), 4 * sizeof(float)), cudaSuccess);
    x_ = upload(std::vector<float>{1, 2, 3, 4}, stream_);
    y_ = device_alloc<float>(4, stream_);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  }
  void TearDown() override {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    ASSERT_EQ(cudaStreamIsCapturing(stream_, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusNone) << "a test left its capture open";
    ASSERT_EQ(cudaFreeAsync(x_, stream_), cudaSuccess);
    ASSERT_EQ(cudaFreeAsync(y_, stream_), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
    ASSERT_EQ(cudaFreeHost(pinned_), cudaSuccess);
    ASSERT_EQ(cudaStreamDestroy(stream_), cudaSuccess);
    cudaGetLastError();
  }

  // Captures y = x + 1 and a copy of y to pinned memory.
  cudaGraph_t capture_add_one() {
    EXPECT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
    add_one(x_, y_, 4, stream_);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);
    EXPECT_EQ(cudaMemcpyAsync(pinned_, y_, 4 * sizeof(float), cudaMemcpyDeviceToHost, stream_),
              cudaSuccess);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
    return graph;
  }

  // Ends a capture that a forbidden call invalidated: no graph.
  void expect_invalidated() {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    EXPECT_EQ(cudaStreamIsCapturing(stream_, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamEndCapture(stream_, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    cudaGetLastError();
  }

  cudaStream_t stream_ = nullptr;
  float* pinned_ = nullptr;
  float* x_ = nullptr;
  float* y_ = nullptr;
};

TEST_F(Capturing, CapturedWorkRunsOnlyWhenTheGraphIsLaunchedAndAgainAtEachLaunch) {
  pinned_[0] = -1.0f;
  const emu::Counters before = emu::counters();
  cudaGraph_t graph = capture_add_one();
  ASSERT_NE(graph, nullptr);
  std::size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_EQ(nodes, 2u);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(pinned_[0], -1.0f) << "captured work ran during the capture";

  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(pinned_[3], 5.0f);

  // A replay reads the memory as it is then: new inputs at the same address.
  ASSERT_EQ(cudaMemcpyAsync(x_, pinned_, 4 * sizeof(float), cudaMemcpyHostToDevice, stream_),
            cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(pinned_[0], 3.0f);
  EXPECT_EQ(pinned_[3], 6.0f);

  const emu::Counters used = emu::counters() - before;
  EXPECT_EQ(used.graph_launches, 2u);
  EXPECT_EQ(used.launches, 1u) << "the kernel counts once, when it is captured";
  EXPECT_EQ(used.graph_kernels, 2u) << "and once in each replay";
  // The capture's copy counts at each replay (the capture itself moved nothing), and so does
  // the upload between them.
  EXPECT_EQ(used.bytes_device_to_host, 3 * 4 * sizeof(float));
  EXPECT_EQ(used.bytes_host_to_device, 4 * sizeof(float));
  ASSERT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
}

// Planted: a graph launched again after memory it writes was freed. The replay is checked like a
// launch: it fails, naming the node and the memory, and runs nothing.
TEST_F(Capturing, AGraphReplayedAfterItsBufferWasFreedFailsNamingTheNode) {
  float* readback = nullptr;
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&readback), 4 * sizeof(float)), cudaSuccess);
  float* out = device_alloc<float>(4, stream_);
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  add_one(x_, out, 4, stream_);
  ASSERT_EQ(cudaMemcpyAsync(readback, out, 4 * sizeof(float), cudaMemcpyDeviceToHost, stream_),
            cudaSuccess);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(readback[3], 5.0f);

  // The pinned buffer the copy writes is gone.
  ASSERT_EQ(cudaFreeHost(readback), cudaSuccess);
  const emu::Counters before = emu::counters();
  EXPECT_EQ(cudaGraphLaunch(exec, stream_), cudaErrorIllegalAddress);
  EXPECT_EQ(cudaGetLastError(), cudaErrorIllegalAddress);
  const std::string pinned_fault = emu::last_fault();
  EXPECT_NE(pinned_fault.find("node 1 (cudaMemcpyAsync device to host)"), std::string::npos)
      << pinned_fault;
  EXPECT_NE(pinned_fault.find("pinned host allocation"), std::string::npos) << pinned_fault;
  EXPECT_EQ((emu::counters() - before).graph_kernels, 0u) << "nothing of it ran";

  // A device buffer a kernel writes is gone.
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void**>(&readback), 4 * sizeof(float)), cudaSuccess);
  ASSERT_EQ(cudaFreeAsync(out, stream_), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream_), cudaSuccess);
  EXPECT_EQ(cudaGraphLaunch(exec, stream_), cudaErrorIllegalAddress);
  cudaGetLastError();
  EXPECT_NE(emu::last_fault().find("node 0 (kernel add_one_kernel): its pointer argument 1"),
            std::string::npos)
      << emu::last_fault();
  ASSERT_EQ(cudaFreeHost(readback), cudaSuccess);
  ASSERT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
}

TEST_F(Capturing, SynchronisingOrAllocatingDuringACaptureInvalidatesIt) {
  struct Forbidden {
    const char* name;
    cudaError_t (*call)(cudaStream_t, float*);
  };
  const Forbidden calls[] = {
      {"cudaStreamSynchronize", [](cudaStream_t s, float*) { return cudaStreamSynchronize(s); }},
      {"cudaStreamQuery", [](cudaStream_t s, float*) { return cudaStreamQuery(s); }},
      {"cudaDeviceSynchronize", [](cudaStream_t, float*) { return cudaDeviceSynchronize(); }},
      {"cudaMalloc",
       [](cudaStream_t, float*) {
         void* p = nullptr;
         return cudaMalloc(&p, 16);
       }},
      {"cudaMallocAsync",
       [](cudaStream_t s, float*) {
         void* p = nullptr;
         return cudaMallocAsync(&p, 16, s);
       }},
      {"cudaMemcpy from pageable memory",
       [](cudaStream_t, float* y) {
         float v = 1.0f;
         return cudaMemcpy(y, &v, sizeof v, cudaMemcpyHostToDevice);
       }},
      {"cudaMemcpyAsync to pageable memory",
       [](cudaStream_t s, float* y) {
         float v = 0.0f;
         return cudaMemcpyAsync(&v, y, sizeof v, cudaMemcpyDeviceToHost, s);
       }},
      {"a kernel on the legacy stream",
       [](cudaStream_t, float* y) {
         fill_iota(y, 4, nullptr);
         return cudaGetLastError();
       }},
  };
  for (const Forbidden& f : calls) {
    SCOPED_TRACE(f.name);
    cudaStream_t target = stream_;
    if (std::string(f.name) == "a kernel on the legacy stream") {
      // Only a blocking stream joins the legacy stream implicitly.
      ASSERT_EQ(cudaStreamCreate(&target), cudaSuccess);
      std::swap(target, stream_);
    }
    ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
    add_one(x_, y_, 4, stream_);
    EXPECT_NE(f.call(stream_, y_), cudaSuccess);
    expect_invalidated();
    if (target != stream_) {
      std::swap(target, stream_);
      ASSERT_EQ(cudaStreamDestroy(target), cudaSuccess);
    }
  }
}

TEST_F(Capturing, WaitsAcrossTheCaptureBoundaryAndCapturedEventsAreRejected) {
  cudaEvent_t outside = nullptr, inside = nullptr;
  ASSERT_EQ(cudaEventCreateWithFlags(&outside, cudaEventDisableTiming), cudaSuccess);
  ASSERT_EQ(cudaEventCreateWithFlags(&inside, cudaEventDisableTiming), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(outside, nullptr), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamWaitEvent(stream_, outside, 0), cudaErrorStreamCaptureIsolation);
  expect_invalidated();

  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(cudaEventRecord(inside, stream_), cudaSuccess);
  EXPECT_EQ(cudaStreamWaitEvent(stream_, inside, 0), cudaSuccess);  // same capture: fine
  EXPECT_EQ(cudaEventQuery(inside), cudaErrorCapturedEvent);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  cudaGetLastError();
  ASSERT_EQ(cudaEventDestroy(outside), cudaSuccess);
  ASSERT_EQ(cudaEventDestroy(inside), cudaSuccess);
}

TEST_F(Capturing, TheLegacyStreamCannotCaptureAndACaptureCannotBeginTwice) {
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
            cudaErrorStreamCaptureUnsupported);
  ASSERT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream_, &graph), cudaSuccess);
  cudaGraph_t none = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(stream_, &none), cudaErrorIllegalState);
  EXPECT_EQ(none, nullptr);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  cudaGetLastError();
}

}  // namespace
}  // namespace myelin::emu_test
