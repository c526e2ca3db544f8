#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/op.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// One buffer of an executor's memory plan: where it lies in the arena and the steps it is alive
// at. Steps number a training pass: forward nodes 0..n-1 in execution order, the seed gradient
// n, backward nodes n+1..2n (the last forward node first); 2n+1 stands for after the pass.
struct MemoryPlanBuffer {
  std::string name;  // "value 'h1'", "saved 'bn1' #0", "gradient 'h1'", "scratch 'fc2' x"
  std::size_t offset = 0;
  std::size_t bytes = 0;
  int first = 0;  // first step that writes it
  int last = 0;   // last step that reads it
};

struct MemoryPlanInfo {
  bool planned = false;         // false: every buffer has memory of its own
  std::size_t arena_bytes = 0;  // the arena's size (planned)
  std::size_t naive_bytes = 0;  // one allocation per buffer, as without a plan
  int steps = 0;                // 2n + 2
  std::vector<MemoryPlanBuffer> buffers;
};

class ExecutionBackend;  // the engine's interface to a device backend (not part of the API)

struct ExecutorOptions {
  Device device = Device::cpu();
  // The type floating-point values are computed in: float32, or float64 on the CPU (gradient
  // checks). Integer values (labels, masks, counters) keep their own types.
  DType dtype = DType::kFloat32;
  // CPU threads for this executor's ops and GEMMs (0: OpenMP's default). Results are the same
  // bits for any count.
  int num_threads = 0;
  // Inputs whose gradients backward() also computes.
  std::vector<Value> input_grads;
  // The values this executor computes: only the nodes they depend on run, so that, say,
  // logits can be evaluated without feeding labels. Empty: every node.
  std::vector<Value> outputs;
  // CUDA: let cuBLAS use TF32 tensor cores for float32 GEMMs (faster, 10-bit mantissa
  // products). Off by default: results then match the CPU path to float32 rounding.
  bool allow_tf32 = false;
  // Seed of dropout masks; the graph's seed when not set.
  std::optional<std::uint64_t> seed;
  // For kernel tests: every buffer the executor allocates gets guard regions, checked after
  // each node (synchronising, so slow); an overwritten guard is an error naming the node.
  bool guard_words = false;
  // Places activations, saved tensors and intermediate gradients in one arena by liveness:
  // buffers never alive at the same time share memory, and an activation's input gradient
  // takes the memory of its output gradient. A value not listed in `outputs` may then be
  // overwritten later in the pass, and reading one whose memory was reused is an error (list it
  // in `outputs` to keep it). Off, or with guard words: every buffer has memory of its own.
  bool plan_memory = true;
  // When false, the executor always works on copies of the graph's parameters and buffers,
  // even where it could share them (the gradient checker must leave the graph untouched).
  bool share_graph_tensors = true;
};

// Runs a graph on one backend: topological order, forward, and the backward pass built by
// reverse-mode autograd over the op table, with gradients accumulated where a value fans out.
//
// Ownership of the weights: the Graph holds the model's parameters and buffers, on the host. On
// the CPU with the graph's floating type an executor works on those tensors themselves; on a
// device (or in another type) it works on its own copies, made when it is built, and
// write_back() copies them into the graph. Trainer::fit writes back before it returns, so after
// training the graph holds the trained weights whatever the device.
class MYELIN_API Executor {
 public:
  explicit Executor(Graph& graph, const ExecutorOptions& options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;

  // Binds a batch to an input: same rank, type and non-batch dimensions as declared (the first
  // dimension may differ). A tensor of the compute type on the executor's device is used
  // in place; otherwise it is converted.
  void set_input(Value input, const Tensor& tensor);
  // A host tensor to build the input's next batch in, then bind with set_input: on a GPU it is
  // the pinned buffer the upload copies from (free by the time it is returned), so the batch is
  // written on the host once, not gathered and then copied; on the CPU, a buffer the executor
  // reuses. Valid until the next call for the same input.
  Tensor input_staging(Value input, const Shape& shape, DType dtype);

  // Runs every node in topological order. `step` is the step counter that dropout masks are
  // drawn from: the same step gives the same masks.
  void forward(Mode mode = Mode::kTrain, std::uint64_t step = 0);

  // Reverse-mode pass from a scalar loss (seed 1). With `accumulate`, parameter and input
  // gradients are added to those of the previous backward (gradient accumulation).
  void backward(Value loss, bool accumulate = false);
  // From any output, seeded with `seed_grad` (same shape as the output).
  void backward(Value output, const Tensor& seed_grad, bool accumulate = false);

  // The value computed by the last forward (inputs, parameters and buffers too). On a device it
  // waits for the queued work, raising any error a kernel recorded.
  const Tensor& value(Value v) const;
  // The same tensor without waiting: on a device its contents are final only for work queued
  // after it in the executor's stream order (a copy the executor issues) or after synchronize().
  // For training loops that read results late and must not stall the device.
  const Tensor& pending_value(Value v) const;
  // The gradient of a trainable parameter or a requested input, from the last backward.
  const Tensor& grad(Value v) const;
  Tensor& grad(Value v);  // for clipping and other in-place gradient edits
  bool has_grad(Value v) const;
  // The executor's tensor for a parameter or buffer (the graph's own when shared).
  Tensor& param(Value v);
  // Parameters that are not frozen, in graph order.
  const std::vector<Value>& trainable_parameters() const;
  // Copies parameters and buffers back into the graph when the executor works on copies.
  void write_back();
  // Waits for the device and raises any error a kernel recorded (a label out of range, ...).
  // value() does this itself on a device; a training loop that reads values late calls it.
  void synchronize();

  Graph& graph();
  const Graph& graph() const;
  const ExecutorOptions& options() const;
  Backend backend() const;
  // The placement of the pass's transient buffers for the inputs bound now (they must all be
  // bound; shapes are inferred if they changed).
  MemoryPlanInfo memory_plan();
  // Changes whenever buffers of the pass move (a larger batch than before needs a new arena or
  // input buffer). Device work recorded with their addresses (a CUDA Graph) stays valid while
  // it does not change.
  std::uint64_t buffer_generation() const;
  // Node indices in execution order.
  const std::vector<int>& order() const;
  // The backend this executor runs on, for the library's optimizers and training loop.
  ExecutionBackend& execution_backend();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace myelin
