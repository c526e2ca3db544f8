// The op table: the single list of built-in ops. Tests iterate it, so an op added here is
// gradient-checked (and compared across backends) without a new test harness.
#include "ops/ops.hpp"

namespace myelin {

const std::vector<const OpDef*>& op_table() {
  static const std::vector<const OpDef*> table = [] {
    std::vector<const OpDef*> all = {&ops::linear()};
    for (int k = 0; k < kNumActivations; ++k) {
      all.push_back(&ops::activation(static_cast<Activation>(k)));
    }
    for (const OpDef* op :
         {&ops::softmax(), &ops::log_softmax(), &ops::batch_norm(), &ops::dropout(), &ops::add(),
          &ops::reshape(), &ops::flatten(), &ops::softmax_cross_entropy(), &ops::bce_with_logits(),
          &ops::mse_loss()}) {
      all.push_back(op);
    }
    return all;
  }();
  return table;
}

}  // namespace myelin
