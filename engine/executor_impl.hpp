#pragma once

// The executor's state, private to the executor's sources.

#include <map>
#include <memory>
#include <vector>

#include "backends/backend.hpp"
#include "memory.hpp"
#include "myelin/executor.hpp"

namespace myelin {

inline std::size_t idx(Value v) {
  return static_cast<std::size_t>(v.id);
}

// Makes the executor's device current while it works on it: kernels and library calls go to
// the current device's streams only.
class DeviceScope {
 public:
  explicit DeviceScope(ExecutionBackend& backend) : guard_(backend.enter()) {}

 private:
  std::unique_ptr<DeviceScopeGuard> guard_;
};

struct Executor::Impl {
  Graph* graph = nullptr;
  ExecutorOptions options;
  Backend backend = Backend::kCpu;
  std::uint64_t seed = 0;
  int graph_values = 0;  // the graph's size when compiled: it must not grow afterwards
  std::vector<int> order;

  // Per value id.
  std::vector<Tensor> values;
  std::vector<Tensor> grads;
  std::vector<char> requires_grad;
  std::vector<char> grad_written;
  std::vector<char> shared;     // parameter or buffer tensor shared with the graph
  std::vector<char> want_grad;  // trainable parameters and requested inputs
  // Per node.
  std::vector<std::vector<Tensor>> saved;
  std::vector<std::vector<Tensor>> scratch;  // per input slot, for fan-in accumulation

  // The memory plan (memory_plan.hpp) for the shapes in inferred_for.
  std::shared_ptr<Storage> arena;
  MemoryPlanInfo plan;
  std::vector<char> kept;                // per value: alive to the end of the pass (outputs)
  std::vector<char> reused_in_forward;   // per value: later forward work may overwrite it
  std::vector<char> reused_in_backward;  // per value: later backward work may overwrite it
  bool backward_since_forward = false;
  // Counts moves of the buffers a captured CUDA Graph would hold: a new arena, a larger input.
  std::uint64_t generation = 0;
  std::vector<std::shared_ptr<Storage>> input_storage;  // per value: a device input's memory
  // The seed gradient of the last backward on a device, kept there while it does not change.
  Value seed_output;
  Tensor seed_host, seed_device;

  std::vector<Value> trainable;
  std::unique_ptr<ExecutionBackend> runtime;  // the backend of options.device
  std::vector<Shape> inferred_for;            // input shapes the current buffers were sized for
  bool has_forward = false;
  Mode last_mode = Mode::kTrain;
  std::uint64_t last_step = 0;

  DType compute_type(DType declared) const {
    return is_floating(declared) ? options.dtype : declared;
  }
  void compile();
  void bind_parameters();
  // Checks that every input a node reads is bound, and infers shapes and places buffers when the
  // bound shapes changed.
  void prepare();
  void infer_shapes();
  bool planning() const { return options.plan_memory && !options.guard_words; }
  // Places the buffers of the pass in the arena (metas: per value, the inferred node outputs).
  void place(const std::vector<TensorMeta>& metas,
             const std::vector<std::vector<TensorMeta>>& saved_metas);
  OpContext make_context(int node_index, Mode mode, std::uint64_t step);
  Tensor& grad_buffer(Value v);
  // The value of the last forward pass, without waiting for the device.
  const Tensor& computed(Value v) const;
  // The device buffer of an input for `shape`: the input's memory when it is large enough, so
  // that its address stays while batches shrink and grow back.
  Tensor input_buffer(Value input, const Shape& shape, DType dtype);
  // The CPU's reusable host buffers of input_staging, by input.
  std::map<int, Tensor> host_staging;
  // A buffer on the executor's device (with guard regions when asked for).
  Tensor allocate(const Shape& shape, DType dtype) const;
  // Raises an error naming the node when a guard region of one of its tensors changed.
  void check_guards(int node_index, const OpContext& ctx);
};

}  // namespace myelin
