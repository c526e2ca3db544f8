// The op table: the single list of built-in ops. Tests iterate it, so an op added here is
// gradient-checked (and compared across backends) without a new test harness.
#include "ops/ops.hpp"

namespace myelin {

const std::vector<const OpDef*>& op_table() {
  static const std::vector<const OpDef*> table = {
      &ops::linear(),
      &ops::activation(Activation::kIdentity),
      &ops::activation(Activation::kRelu),
      &ops::activation(Activation::kLeakyRelu),
      &ops::activation(Activation::kSigmoid),
      &ops::activation(Activation::kTanh),
      &ops::activation(Activation::kElu),
      &ops::activation(Activation::kAbs),
      &ops::activation(Activation::kGelu),
      &ops::activation(Activation::kSilu),
      &ops::activation(Activation::kSoftplus),
      &ops::softmax(),
      &ops::log_softmax(),
      &ops::batch_norm(),
      &ops::dropout(),
      &ops::add(),
      &ops::reshape(),
      &ops::flatten(),
      &ops::softmax_cross_entropy(),
      &ops::bce_with_logits(),
      &ops::mse_loss(),
  };
  return table;
}

}  // namespace myelin
