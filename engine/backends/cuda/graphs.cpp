#include "backends/cuda/graphs.hpp"

#include "backends/cuda/device_guard.hpp"
#include "myelin/error.hpp"

namespace myelin::cuda {

GraphCache::~GraphCache() {
  clear();
}

void GraphCache::begin(DeviceContext& dc) {
  DeviceGuard guard(dc.device);
  if (dc.graph_epoch != epoch_) clear();  // the graphs kept so far point to replaced memory
  epoch_ = dc.graph_epoch;
  MYELIN_CUDA_CHECK(cudaStreamBeginCapture(dc.stream, cudaStreamCaptureModeGlobal));
  dc.capturing = true;
}

void GraphCache::end(DeviceContext& dc, const std::string& key) {
  DeviceGuard guard(dc.device);
  dc.capturing = false;
  cudaGraph_t graph = nullptr;
  MYELIN_CUDA_CHECK(cudaStreamEndCapture(dc.stream, &graph));
  if (dc.graph_epoch != epoch_) {  // memory was replaced while capturing: the graph is stale
    cudaGraphDestroy(graph);
    fail("CUDA Graph '", key, "': memory it uses was replaced during its capture");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  const cudaError_t destroyed = cudaGraphDestroy(graph);  // the instance keeps what it needs
  MYELIN_CUDA_CHECK(made);
  MYELIN_CUDA_CHECK(destroyed);
  auto [it, fresh] = graphs_.emplace(key, exec);
  if (!fresh) {
    MYELIN_CUDA_CHECK(cudaGraphExecDestroy(it->second));
    it->second = exec;
  }
}

void GraphCache::abort(DeviceContext& dc) noexcept {
  if (!dc.capturing) return;
  dc.capturing = false;
  int previous = -1;
  const bool known = cudaGetDevice(&previous) == cudaSuccess;
  cudaSetDevice(dc.device);
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(dc.stream, &graph) == cudaSuccess && graph != nullptr) {
    cudaGraphDestroy(graph);
  }
  if (known) cudaSetDevice(previous);
  cudaGetLastError();  // the capture's error was raised already
}

bool GraphCache::has(const DeviceContext& dc, const std::string& key) {
  if (graphs_.empty()) return false;
  if (dc.graph_epoch != epoch_) {
    clear();
    return false;
  }
  return graphs_.count(key) != 0;
}

void GraphCache::launch(DeviceContext& dc, const std::string& key) {
  auto it = graphs_.find(key);
  if (it == graphs_.end()) fail("no CUDA Graph '", key, "' was captured");
  if (dc.graph_epoch != epoch_) {
    fail("CUDA Graph '", key, "' points to memory replaced since its capture (check has() first)");
  }
  DeviceGuard guard(dc.device);
  MYELIN_CUDA_CHECK(cudaGraphLaunch(it->second, dc.stream));
}

void GraphCache::clear() noexcept {
  for (auto& [key, exec] : graphs_) cudaGraphExecDestroy(exec);
  graphs_.clear();
}

}  // namespace myelin::cuda
