// Stream capture and CUDA Graphs on the emulated runtime. A capturing stream records the work
// queued on it instead of queueing it; the global capture mode's rules are enforced: calls that
// synchronise with the device or allocate or free memory while any stream captures fail and
// invalidate every capture, and so do waits across a capture's boundary and work on the legacy
// stream that would have to wait for a capturing blocking stream. A graph launch queues the
// recorded work on a stream again, in capture order, with the arguments it was captured with,
// after checking, as a launch does, that every copy, set and kernel argument that points to device
// or pinned memory still points into a live allocation.
#include <memory>
#include <sstream>

#include "internal.hpp"

namespace myelin::emu::detail {

namespace {

// The active captures (pruning the ended ones).
std::vector<CapturePtr> active_captures() {
  Emulator& e = emulator();
  std::vector<CapturePtr> live;
  std::vector<std::weak_ptr<CaptureState>> kept;
  for (const auto& weak : e.captures) {
    if (CapturePtr c = weak.lock()) {
      live.push_back(c);
      kept.push_back(weak);
    }
  }
  e.captures = std::move(kept);
  return live;
}

}  // namespace

cudaError_t check_replay(const Op& op, std::size_t node) {
  for (const Range& r : op.ranges) {
    if (r.device && find_allocation(r.ptr, r.bytes) != nullptr) continue;
    if (r.pinned && is_pinned(r.ptr, r.bytes == 0 ? 1 : r.bytes)) continue;
    std::ostringstream m;
    if (node != kNotAGraphNode) m << "graph launch: node " << node << " (" << op.what << ")";
    if (node == kNotAGraphNode) m << op.what;
    m << ": its " << r.role << " [" << r.ptr << ", +" << r.bytes << ") is not inside one live "
      << (r.device && r.pinned ? "device or pinned allocation"
          : r.device           ? "device allocation"
                               : "pinned host allocation");
    if (node != kNotAGraphNode) m << " (freed since the graph was captured)";
    return fault(cudaErrorIllegalAddress, m.str());
  }
  return cudaSuccess;
}

void invalidate_capture(CaptureState& capture, cudaError_t code, const std::string& why) {
  if (capture.invalidated != cudaSuccess) return;
  capture.invalidated = code;
  capture.ops.clear();
  fault(code, "stream capture invalidated: " + why);
}

cudaError_t forbidden_while_capturing(const char* call) {
  const std::vector<CapturePtr> live = active_captures();
  if (live.empty()) return cudaSuccess;
  for (const CapturePtr& c : live) {
    invalidate_capture(*c, cudaErrorStreamCaptureUnsupported,
                       std::string(call) + " is not permitted while a stream captures");
  }
  return cudaErrorStreamCaptureUnsupported;
}

cudaError_t check_implicit_capture_join(const StreamState& stream, const char* call) {
  if (!stream.legacy) return cudaSuccess;
  Device* d = device_at(stream.device);
  cudaError_t result = cudaSuccess;
  for (const auto& weak : d->streams) {
    const StreamPtr other = weak.lock();
    if (other && other->capture && !other->non_blocking) {
      invalidate_capture(
          *other->capture, cudaErrorStreamCaptureImplicit,
          std::string(call) + " on the legacy stream would wait for a capturing blocking stream");
      result = cudaErrorStreamCaptureImplicit;
    }
  }
  return result;
}

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- capture ------------------------------------------------------------------------------------

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (mode != cudaStreamCaptureModeGlobal) {
    // Only the strictest mode is emulated; the backend uses no other.
    return set_error(cudaErrorNotSupported);
  }
  // The legacy stream cannot capture; a stream captures once at a time.
  if (s->legacy) return set_error(cudaErrorStreamCaptureUnsupported);
  if (s->capture) return set_error(cudaErrorIllegalState);
  auto capture = std::make_shared<CaptureState>();
  capture->device = s->device;
  s->capture = capture;
  emulator().captures.push_back(capture);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  ApiLock lock;
  if (graph == nullptr) return set_error(cudaErrorInvalidValue);
  *graph = nullptr;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (!s->capture) return set_error(cudaErrorIllegalState);
  const CapturePtr capture = std::move(s->capture);
  s->capture = nullptr;
  active_captures();
  if (capture->invalidated != cudaSuccess) return set_error(cudaErrorStreamCaptureInvalidated);
  auto g = std::make_unique<GraphState>();
  g->device = capture->device;
  g->ops = std::move(capture->ops);
  *graph = reinterpret_cast<cudaGraph_t>(g.get());
  emulator().graphs[g.get()] = std::move(g);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  ApiLock lock;
  if (status == nullptr) return set_error(cudaErrorInvalidValue);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (!s->capture) {
    *status = cudaStreamCaptureStatusNone;
  } else {
    *status = s->capture->invalidated == cudaSuccess ? cudaStreamCaptureStatusActive
                                                     : cudaStreamCaptureStatusInvalidated;
  }
  return cudaSuccess;
}

// ---- graphs -------------------------------------------------------------------------------------

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph,
                                 unsigned long long flags) {
  ApiLock lock;
  if (exec == nullptr || flags != 0) return set_error(cudaErrorInvalidValue);
  Emulator& e = emulator();
  auto it = e.graphs.find(graph);
  if (it == e.graphs.end()) return set_error(cudaErrorInvalidResourceHandle);
  auto instance = std::make_unique<GraphState>(*it->second);
  *exec = reinterpret_cast<cudaGraphExec_t>(instance.get());
  e.graph_execs[instance.get()] = std::move(instance);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.graph_execs.find(exec);
  if (it == e.graph_execs.end()) return set_error(cudaErrorInvalidResourceHandle);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  const GraphState& g = *it->second;
  if (s->device != g.device) return set_error(cudaErrorInvalidValue);
  if (s->capture) {  // child graphs are not emulated
    invalidate_capture(*s->capture, cudaErrorStreamCaptureUnsupported,
                       "cudaGraphLaunch into a capturing stream");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  if (const cudaError_t c = check_implicit_capture_join(*s, "cudaGraphLaunch")) {
    return set_error(c);
  }
  // Checked like a launch: nothing is queued when something the graph touches is gone.
  for (std::size_t n = 0; n < g.ops.size(); ++n) {
    if (const cudaError_t bad = check_replay(g.ops[n], n)) return set_error(bad);
  }
  ++e.counters.graph_launches;
  count_work("cudaGraphLaunch");
  myelin::emu::Counters& counted = e.counters;
  for (const Op& recorded : g.ops) {
    Op op = recorded;
    op.deps.clear();
    op.seq = 0;
    counted.bytes_host_to_device += op.bytes_host_to_device;
    counted.bytes_device_to_host += op.bytes_device_to_host;
    counted.bytes_device_to_device += op.bytes_device_to_device;
    counted.copies_to_device += op.copies_to_device;
    counted.copies_to_host += op.copies_to_host;
    counted.graph_kernels += op.launches;
    enqueue(*s, std::move(op));
  }
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* count) {
  ApiLock lock;
  if (count == nullptr) return set_error(cudaErrorInvalidValue);
  auto it = emulator().graphs.find(graph);
  if (it == emulator().graphs.end()) return set_error(cudaErrorInvalidResourceHandle);
  const std::size_t total = it->second->ops.size();
  if (nodes == nullptr) {
    *count = total;
    return cudaSuccess;
  }
  // Node handles stand for positions in the recorded order (1-based, never null).
  for (std::size_t i = 0; i < *count && i < total; ++i) {
    nodes[i] = reinterpret_cast<cudaGraphNode_t>(i + 1);
  }
  *count = total < *count ? total : *count;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  ApiLock lock;
  if (emulator().graphs.erase(graph) == 0) return set_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  ApiLock lock;
  if (emulator().graph_execs.erase(exec) == 0) return set_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}
