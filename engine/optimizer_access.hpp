#pragma once

// What the CUDA backend's fused optimizer step needs from the Optimizer: its per-parameter state
// slots and step counters, and a place to keep its device tables.

#include <array>
#include <memory>

#include "myelin/optimizer.hpp"
#include "ops/update_rules.hpp"

namespace myelin {

// The scalars of one update of one group; t counts from 1.
UpdateConstants<double> update_constants(const OptimizerOptions& options, double lr,
                                         std::int64_t t);

struct OptimizerAccess {
  struct ParamState {
    std::array<Tensor*, 3> slots{};  // null where the rule keeps none
    std::int64_t* step = nullptr;    // updates of this parameter so far
  };
  // The parameter's state, allocated (on the parameter's device) on first use.
  static ParamState state(Optimizer& optimizer, const ParamRef& param);
  static void count_update(Optimizer& optimizer) { ++optimizer.steps_; }
  static std::shared_ptr<void>& device_state(Optimizer& optimizer) {
    return optimizer.device_state_;
  }
  static const std::shared_ptr<void>& device_state(const Optimizer& optimizer) {
    return optimizer.device_state_;
  }
};

}  // namespace myelin
