#pragma once

// CUDA Graphs of one executor's stream: capture, instantiation, launch, by key. A graph holds
// the addresses it was captured with; each is kept with the device context's graph epoch at its
// capture, and all are dropped once the epoch moves on (memory they point to was replaced).

#include <cstdint>
#include <map>
#include <string>

#include "backends/cuda/context.hpp"

namespace myelin::cuda {

class GraphCache {
 public:
  GraphCache() = default;
  ~GraphCache();
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // Records the work queued on dc's stream from now on (the global capture mode: a call that
  // would synchronise or allocate meanwhile fails, so such a call cannot hide in a graph).
  void begin(DeviceContext& dc);
  // Ends the capture and keeps its graph, instantiated, as `key`.
  void end(DeviceContext& dc, const std::string& key);
  // Ends a capture that failed part way, keeping nothing; the current device is left as it was.
  void abort(DeviceContext& dc) noexcept;
  // Whether graph `key` exists and may be replayed (stale graphs are dropped here).
  bool has(const DeviceContext& dc, const std::string& key);
  void launch(DeviceContext& dc, const std::string& key);
  void clear() noexcept;

 private:
  std::map<std::string, cudaGraphExec_t> graphs_;
  std::uint64_t epoch_ = 0;  // the device context's graph epoch when graphs_ were captured
};

}  // namespace myelin::cuda
