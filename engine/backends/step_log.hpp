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
  // After a mini-batch's forward pass: its loss (a scalar of the executor) times `weight`.
  virtual void add_loss(const Tensor& loss, double weight) = 0;
  // After the optimizer step: ends the update and captures its gradient norm.
  virtual void end_update() = 0;
  // The oldest finished update's weighted loss and gradient norm. Without `wait`, false when it
  // is not done yet; false when no update is pending.
  virtual bool take(double& loss, double& grad_norm, bool wait) = 0;
};

}  // namespace myelin
