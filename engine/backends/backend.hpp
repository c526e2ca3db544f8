#pragma once

// The interface between the engine core (executor, optimizer, trainer, gradient tools) and a
// device backend. One implementation per device kind: backends/cpu/cpu_backend.cpp (the
// reference path) and backends/cuda/cuda_backend.cpp (a GPU, or the emulated device). The core
// never asks which backend it runs on beyond Backend for messages: everything that differs
// between devices is a call here.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/update_rules.hpp"
#include "myelin/build_info.hpp"
#include "myelin/op.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

class StepLog;
struct Storage;
namespace cuda {
class Stream;
}

// One parameter of an optimizer update: its tensors, its state slots (null where the rule keeps
// none), the constants of its group for this step, and its update counter (incremented).
struct ParamUpdate {
  Tensor* value = nullptr;
  Tensor* grad = nullptr;  // clipped in place
  Tensor* slots[3] = {nullptr, nullptr, nullptr};
  UpdateConstants<double> constants;
  std::int64_t* step = nullptr;
};

// Which part of an optimizer update a call does. A step run as a CUDA Graph splits it: the
// step's constants are written (and the counters advanced) before the graph is launched, and
// the graph holds the norm, clipping and update kernels.
enum class UpdatePart {
  kAll,        // the whole update
  kConstants,  // the step's constants and the counters, nothing the graph holds
  kKernels,    // the graph's part: norm, clipping and the rule, from the constants last written
};

// What a backend keeps between the updates of one optimizer (the CUDA backend's device tables
// of every parameter, the norm of the last update).
class UpdateCache {
 public:
  virtual ~UpdateCache();
  // The global gradient norm before clipping of the last update (waits for the device).
  virtual double last_norm() const = 0;
};

// Makes a device current for its lifetime (nothing on the CPU).
class DeviceScopeGuard {
 public:
  virtual ~DeviceScopeGuard();
};

struct BackendOptions {
  Device device = Device::cpu();
  bool allow_tf32 = false;               // CUDA: TF32 tensor cores for float32 GEMMs
  std::vector<std::string> node_labels;  // for error messages, by node index
};

// A backend instance serves one executor on one device.
class ExecutionBackend {
 public:
  virtual ~ExecutionBackend();

  virtual Backend kind() const = 0;
  // The state ops see as OpContext::device (null on the CPU).
  virtual DeviceContext* context() = 0;
  // The device current while the returned guard lives.
  virtual std::unique_ptr<DeviceScopeGuard> enter() = 0;

  // A buffer on the backend's device (in its stream order), with guard regions when asked for.
  virtual Tensor allocate(const Shape& shape, DType dtype, bool guarded) = 0;
  // dst = src (same shape; src on any device, converted to dst's type), in stream order; host
  // data goes through staging buffer `slot` (one per input, so batch uploads overlap compute).
  virtual void upload(Tensor& dst, const Tensor& src, int slot) = 0;
  // A host tensor that upload(..., slot) copies from without a host copy of its own (the
  // CUDA backend's next pinned staging buffer of the slot, free once returned); an undefined
  // tensor where the backend has none (the CPU).
  virtual Tensor staging(int slot, const Shape& shape, DType dtype);
  // Waits for the device's queued work and raises any error a kernel recorded.
  virtual void synchronize() = 0;
  // Before a forward pass (the dropout step) and before each node (kernel error attribution).
  virtual void begin_forward(std::uint64_t step) = 0;
  virtual void begin_node(int node) = 0;

  // Elementwise helpers of the scheduler and the gradient tools.
  virtual void accumulate(Tensor& dst, const Tensor& src) = 0;  // dst += src
  virtual void zero(Tensor& t) = 0;
  virtual void scale(Tensor& t, double factor) = 0;
  virtual void clamp(Tensor& t, double limit) = 0;  // to [-limit, limit]
  // Sum of squares in double, in a fixed order (waits for the device).
  virtual double sum_of_squares(const Tensor& t) = 0;
  // Training diagnostics: x (float32) viewed as [rows, columns]; per column, four doubles: the
  // rows where x > 0, the rows where x < low or x > high, the sum and the sum of squares, each in
  // row order (waits for the device).
  virtual std::vector<double> column_statistics(const Tensor& x, std::int64_t rows, double low,
                                                double high) = 0;

  // One optimizer update of every parameter: the global gradient norm, clipping (norm scaled to
  // at most clipping.max_norm, then elements clamped to clipping.max_value; 0: off), the update
  // rule, each parameter's counter. `cache` is the optimizer's, made here on first use.
  // `part`: all of it, except in CUDA Graph steps (supports_graphs()).
  virtual void update(const std::vector<ParamUpdate>& params, const GradientClipping& clipping,
                      std::shared_ptr<UpdateCache>& cache, UpdatePart part) = 0;

  // The training loop's readback of losses and gradient norms (backends/step_log.hpp).
  virtual std::unique_ptr<StepLog> make_step_log(std::int64_t micro_batches) = 0;

  // CUDA Graphs. Between begin_capture and end_capture the work queued is recorded, not run,
  // as graph `key`; launch_graph queues it again, reading and writing the same addresses. The
  // device's per-step scalars (the dropout step, the update's constants) are written outside
  // the graph, before each launch. A graph is forgotten as soon as memory it points to that the
  // backend owns is replaced (its scratch buffer, the optimizer's device tables, a step log's
  // buffers): has_graph then says false, and the step is captured again. Backends without graphs
  // say false and need nothing else.
  virtual bool supports_graphs() const { return false; }
  virtual void begin_capture();
  virtual void end_capture(const std::string& key);
  // Ends a capture that failed part way, keeping nothing (no error is raised).
  virtual void abort_capture() noexcept {}
  virtual bool has_graph(const std::string& key);
  virtual void launch_graph(const std::string& key);
  // Forgets every graph (the buffers they were recorded with moved).
  virtual void drop_graphs() {}
};

// The backend of options.device; throws when that device is not usable or not built.
std::unique_ptr<ExecutionBackend> make_execution_backend(const BackendOptions& options);

// Services of the backend that owns a device, for code that is not tied to an executor (tensors,
// metrics, build information). backends/backend.cpp routes them.
namespace backend {

std::shared_ptr<Storage> allocate_device_storage(Device device, std::size_t bytes,
                                                 std::shared_ptr<cuda::Stream> stream);
void free_device_storage(Storage& storage) noexcept;
// A copy where at least one side is device memory (see copy_bytes in memory.hpp).
void copy_device_bytes(void* dst, const Storage* dst_storage, const void* src,
                       const Storage* src_storage, std::size_t bytes);
void use_device_storage_on(Storage& storage, const std::shared_ptr<cuda::Stream>& stream);
// Rows of logits [N, C] on a device whose argmax is the label.
std::int64_t count_correct_on_device(const Tensor& logits, const Tensor& labels);
// The CUDA part of build_info(): whether it is built, emulated, its versions.
void describe_cuda_build(BuildInfo& info);
int cuda_device_count(std::string* why);

}  // namespace backend

}  // namespace myelin
