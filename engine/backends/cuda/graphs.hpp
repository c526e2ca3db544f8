#pragma once

// CUDA Graphs of one executor's stream: capture, instantiation, launch, by key.

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
  // Ends a capture that failed part way, keeping nothing.
  void abort(DeviceContext& dc) noexcept;
  bool has(const std::string& key) const { return graphs_.count(key) != 0; }
  void launch(DeviceContext& dc, const std::string& key);
  void clear() noexcept;

 private:
  std::map<std::string, cudaGraphExec_t> graphs_;
};

}  // namespace myelin::cuda
