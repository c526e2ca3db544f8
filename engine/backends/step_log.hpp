#pragma once

// The per-update scalars of the training loop (the data loss of each mini-batch, the global
// gradient norm), read back without stalling the device. The CPU backend reads them at once; the
// CUDA backend copies them to pinned host memory in stream order after each update and reads
// them one update later, so nothing in a training step waits for the host.

#include <cstdint>

#include "myelin/tensor.hpp"

namespace myelin {

// Made by a backend (ExecutionBackend::make_step_log) for one training loop.
class StepLog {
 public:
  virtual ~StepLog();
  // Before an update's first batch is bound: waits, if it must, for the readback of the update
  // before last (the step's one wait, so it comes before the batch's upload, whose staging
  // buffer that update's work has left by then).
  virtual void make_room();
  // After a mini-batch's forward pass: its loss (a scalar of the executor) times `weight`.
  virtual void add_loss(const Tensor& loss, double weight) = 0;
  // After the optimizer step: ends the update and captures its gradient norm.
  virtual void end_update() = 0;

  // An update run as a CUDA Graph (backends with graphs). begin_graphed_update makes room for
  // the update (waiting, if it must, for the readback of the update before last) and returns
  // which of the log's buffers it writes: a graph records their addresses, so there is one
  // graph per buffer. While capturing, add_loss and queue_update_copies record the copies;
  // after each launch, replay_loss (when add_loss was not called) and commit_update do the
  // host's part. end_update() is queue_update_copies() then commit_update().
  virtual int begin_graphed_update();
  virtual void queue_update_copies();
  virtual void replay_loss(double weight);
  virtual void commit_update();

  // The oldest finished update's weighted loss and gradient norm. Without `wait`, false when it
  // is not done yet; false when no update is pending.
  virtual bool take(double& loss, double& grad_norm, bool wait) = 0;
};

}  // namespace myelin
