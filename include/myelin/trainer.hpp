#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "myelin/batch_source.hpp"
#include "myelin/diagnostics.hpp"
#include "myelin/error.hpp"
#include "myelin/evaluate.hpp"
#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/graph.hpp"
#include "myelin/optimizer.hpp"
#include "myelin/schedule.hpp"

namespace myelin {

// What training does at a step whose loss or gradient norm is not finite (inf or NaN). Either
// way the update of a non-finite gradient is never applied (see Optimizer::step), so the weights
// stay those of the last finite step.
enum class NonFinitePolicy {
  kStop,  // fit() stops and throws NonFiniteError
  kSkip,  // the step is skipped and counted; past max_skipped such steps, as kStop
};

struct TrainOptions {
  std::int64_t batch_size = 32;
  std::int64_t epochs = 1;
  bool shuffle = true;     // a new order every epoch, drawn from `seed`
  bool drop_last = false;  // drop a last partial batch instead of training on it
  // Mini-batches whose gradients are averaged into one update.
  std::int64_t accumulation_steps = 1;
  double clip_norm = 0.0;    // global-norm clipping threshold (0: off)
  double clip_value = 0.0;   // per-element clipping limit (0: off)
  LrSchedule schedule;       // its steps_per_epoch is set from the data
  std::uint64_t seed = 0;    // shuffling
  ExecutorOptions executor;  // device, compute type, threads
  // CUDA: each training step after the first of its batch size runs as one CUDA Graph
  // (forward, loss, backward, clipping, update, the step log's copies), captured once per
  // batch size and replayed. Results are the same bits either way. Without gradient
  // accumulation only (accumulation_steps 1); ignored on the CPU.
  bool cuda_graphs = true;
  // Steps between training diagnostics (0: off): steps 1, 1 + n, 1 + 2n, ... report per-layer
  // gradient and weight norms, update ratios and activation statistics (on_diagnostics). Such a
  // step runs outside a CUDA Graph and waits for the device a few times; the results are the
  // same bits either way.
  std::int64_t diagnostics_every = 0;
  NonFinitePolicy on_nonfinite = NonFinitePolicy::kStop;
  std::int64_t max_skipped = 10;  // kSkip: non-finite steps a run may skip (over all epochs)
};

// Where training stands: enough to continue exactly where it stopped, mid-epoch included.
struct TrainPosition {
  std::int64_t epoch = 0;
  std::int64_t batch = 0;           // next mini-batch of that epoch
  std::int64_t forward_passes = 0;  // the dropout step counter
  // The epoch's data loss so far (sum of loss x samples over its reported updates) and those
  // samples: a run resumed mid-epoch reports the mean over the whole epoch.
  double epoch_loss_sum = 0.0;
  std::int64_t epoch_loss_samples = 0;
  std::int64_t nonfinite_steps = 0;  // steps so far whose loss or gradient norm was not finite
};

struct StepInfo {
  std::int64_t epoch = 0;
  std::int64_t step = 0;   // optimizer updates so far, this one included
  std::int64_t batch = 0;  // last mini-batch of this update, within the epoch
  std::int64_t batches_per_epoch = 0;
  std::int64_t samples = 0;  // in this update
  double loss = 0.0;         // data loss + L2 penalty
  double data_loss = 0.0;
  double penalty = 0.0;
  double grad_norm = 0.0;  // global L2 norm before clipping
  double lr = 0.0;         // of the "weights" group
  double samples_per_second = 0.0;
  // The gradient norm was not finite, so the update changed nothing. A non-finite loss with a
  // finite gradient (a squared error past float's range) is not skipped: its update is finite.
  bool skipped = false;
  bool finite() const { return std::isfinite(data_loss) && std::isfinite(grad_norm); }
};

struct EpochInfo {
  std::int64_t epoch = 0;
  std::int64_t steps = 0;  // updates in this epoch
  // Mean data loss over the epoch's samples (no penalty), of the steps whose loss was finite;
  // NaN when none was.
  double loss = 0.0;
  std::int64_t nonfinite_steps = 0;  // in this epoch
  double seconds = 0.0;
  double samples_per_second = 0.0;
};

// Thrown by Trainer::fit at a non-finite step under NonFinitePolicy::kStop, or at the first one
// past max_skipped under kSkip. fit() has stopped as at request_stop(): the graph holds the
// weights of the last finite update and position() says where training stands, so the caller
// can save them. The message names the step, the value and the usual causes.
class MYELIN_API NonFiniteError : public Error {
 public:
  NonFiniteError(const std::string& what, const StepInfo& step);
  ~NonFiniteError() override;
  const StepInfo& step() const { return step_; }

 private:
  StepInfo step_;
};

// The mini-batch training loop: shuffling, batching, gradient accumulation, clipping, the
// learning-rate schedule, and callbacks per update and per epoch.
class MYELIN_API Trainer {
 public:
  Trainer(Graph& graph, Value loss, Optimizer& optimizer, const TrainOptions& options);

  // Trains on `data` (one tensor per graph input the loss needs, all with the same number of
  // rows) from the current position to the end of options.epochs (or a stop). On return the
  // graph holds the trained parameters and buffers, on every device (see Executor). A
  // non-finite step is handled by options.on_nonfinite (NonFiniteError).
  void fit(const std::vector<std::pair<Value, Tensor>>& data);
  void fit(BatchSource& source);
  // The loss over `data` in eval mode on the trainer's executor (the weights as trained so
  // far), and with options.logits and options.labels the predictions and accuracy: see
  // myelin::evaluate.
  Evaluation evaluate(const std::vector<std::pair<Value, Tensor>>& data,
                      const EvaluateOptions& options = {});
  Evaluation evaluate(BatchSource& source, const EvaluateOptions& options = {});

  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EpochInfo&)> on_epoch;
  std::function<void(const Diagnostics&)> on_diagnostics;
  // Stops fit() after the current update (from a callback or a signal handler's flag). On a
  // device, updates queued before the callback saw its step also run.
  void request_stop() { stop_ = true; }
  // Stops fit() once the optimizer has made `updates` updates in all (0: no limit), exactly:
  // no update past it is queued, whatever the device has reported.
  void stop_after_updates(std::int64_t updates) { stop_after_ = updates; }

  const TrainPosition& position() const { return position_; }
  void set_position(const TrainPosition& position) { position_ = position; }
  Executor& executor() { return executor_; }
  const TrainOptions& options() const { return options_; }
  // The row order of an epoch: a pure function of (seed, epoch).
  std::vector<std::int64_t> epoch_order(std::int64_t epoch, std::int64_t rows) const;

 private:
  void diagnose_activations(Diagnostics& d);
  std::vector<Tensor> diagnose_gradients(Diagnostics& d);  // returns the weights' copies
  void diagnose_updates(Diagnostics& d, std::vector<Tensor>& before);

  Graph& graph_;
  Value loss_;
  Optimizer& optimizer_;
  TrainOptions options_;
  Executor executor_;
  // The activations diagnostics watch: node index and output, in graph order.
  std::vector<std::pair<int, Value>> watched_;
  TrainPosition position_;
  bool stop_ = false;
  std::int64_t stop_after_ = 0;
};

}  // namespace myelin
