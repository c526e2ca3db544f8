#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

class UpdateCache;      // a backend's state between updates (not part of the API)
struct ParamUpdate;     // one parameter of a backend's update
enum class UpdatePart;  // which part of an update a backend runs (not part of the API)
class Trainer;

// The update rules of torch.optim, with its defaults, plus the exponentially weighted form of
// momentum. With g the gradient (after clipping) plus l2 * w:
//   kSgd          w -= lr g
//   kMomentum     v = beta v + g;              w -= lr v         (torch SGD, dampening 0)
//   kMomentumEma  v = beta v + (1 - beta) g;   w -= lr v         (v starts at 0)
//   kNesterov     v = beta v + g;              w -= lr (g + beta v)
//   kRmsprop      s = alpha s + (1 - alpha) g^2; w -= lr g / (sqrt(s) + eps)
//                 (centered: s - gbar^2 under the root; momentum: buffered as torch does)
//   kAdagrad      s += g^2;  w -= lr / (1 + (t - 1) lr_decay) g / (sqrt(s) + eps)
//   kAdam, kAdamW m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//                 w -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)   (amsgrad: max v)
// Decoupled weight decay multiplies w by (1 - lr weight_decay) before the update (AdamW's
// form, available to every rule).
enum class OptimizerKind {
  kSgd,
  kMomentum,
  kMomentumEma,
  kNesterov,
  kRmsprop,
  kAdagrad,
  kAdam,
  kAdamW,
};

MYELIN_API const char* optimizer_kind_name(OptimizerKind kind);

struct MYELIN_API OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kSgd;
  double lr = 0.01;
  double momentum = 0.0;  // beta of the momentum rules; RMSprop's optional momentum
  double alpha = 0.99;    // RMSprop
  double beta1 = 0.9;     // Adam
  double beta2 = 0.999;   // Adam
  double eps = 1e-8;
  double lr_decay = 0.0;             // Adagrad
  double initial_accumulator = 0.0;  // Adagrad
  bool centered = false;             // RMSprop
  bool amsgrad = false;              // Adam, AdamW
  // L2 regularisation as a penalty (l2 / 2) ||w||^2 added to the loss: its gradient l2 * w is
  // added to g (torch's `weight_decay` for SGD, Adam, RMSprop, Adagrad).
  double l2 = 0.0;
  // Decoupled weight decay: w *= 1 - lr * weight_decay (AdamW's `weight_decay`).
  double weight_decay = 0.0;

  static OptimizerOptions sgd(double lr = 0.01);
  static OptimizerOptions momentum_sgd(double lr = 0.01, double beta = 0.9);
  static OptimizerOptions momentum_ema(double lr = 0.01, double beta = 0.9);
  static OptimizerOptions nesterov(double lr = 0.01, double beta = 0.9);
  static OptimizerOptions rmsprop(double lr = 0.01, double alpha = 0.99, double eps = 1e-8);
  static OptimizerOptions adagrad(double lr = 0.01, double eps = 1e-10);
  static OptimizerOptions adam(double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                               double eps = 1e-8);
  static OptimizerOptions adamw(double lr = 1e-3, double weight_decay = 0.01, double beta1 = 0.9,
                                double beta2 = 0.999, double eps = 1e-8);

  // Throws myelin::Error naming the first field out of range.
  void validate() const;
  std::string str() const;
};

// One parameter as the optimizer sees it.
struct ParamRef {
  std::string name;
  std::string group;
  Tensor* value = nullptr;
  const Tensor* grad = nullptr;
};

// Gradient clipping folded into an update (0: off): first the global L2 norm is scaled down to
// at most max_norm (scale = min(1, max_norm / (norm + 1e-6))), then every element is clamped to
// [-max_value, max_value].
struct GradientClipping {
  double max_norm = 0.0;
  double max_value = 0.0;
};

// Updates parameters from their gradients. Options are per parameter group: every group uses
// the options given at construction, except "no_decay" (biases and normalisation parameters),
// which by default takes them with l2 = 0 and weight_decay = 0. set_group() overrides a group.
// A schedule scales every group's lr through set_lr_scale().
class MYELIN_API Optimizer {
 public:
  explicit Optimizer(const OptimizerOptions& options);

  void set_group(const std::string& group, const OptimizerOptions& options);
  const OptimizerOptions& group(const std::string& group) const;
  OptimizerKind kind() const { return defaults_.kind; }

  // One update of every trainable parameter of the executor (frozen ones are never touched),
  // after clipping the gradients. On CUDA the norm, the clip scale and the update are device
  // launches (one for the norm, one updating every parameter): the host never waits.
  // A step whose global gradient norm is not finite changes no parameter and no state (decided
  // on the device, where the norm is), yet counts as a step: the learning-rate schedule and the
  // bias corrections go on as the host scheduled them.
  void step(Executor& executor, const GradientClipping& clipping = {});
  // The global gradient norm before clipping, from the last step(executor); waits for the
  // device on CUDA.
  double last_grad_norm() const;
  // One update of the given parameters (host tensors); skipped as above.
  void step(const std::vector<ParamRef>& params);

  void set_lr_scale(double scale);
  double lr_scale() const { return lr_scale_; }
  // The learning rate this step uses for a group: its lr times the scale.
  double lr(const std::string& group = "weights") const;
  // Updates made so far (Adam's bias correction and Adagrad's decay count them).
  std::int64_t steps() const { return steps_; }

  // Everything needed to continue exactly: "step" (int64 scalar, the updates made), and per
  // parameter "<param>.step" and "<param>.<slot>" tensors named as torch.optim's state
  // (momentum_buffer, exp_avg, exp_avg_sq, max_exp_avg_sq, square_avg, grad_avg, sum).
  std::vector<std::pair<std::string, Tensor>> state_dict() const;
  // Restores a state_dict(). Unknown slots, non-finite values and negative second moments throw
  // here; at the next step, an entry naming no parameter being trained, a parameter missing one
  // of its slots, or a slot whose shape does not match its parameter throws.
  void load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state);

 private:
  friend class Trainer;  // runs updates in two parts around a CUDA Graph
  void step(Executor& executor, const GradientClipping& clipping, UpdatePart part);

  struct Slots {
    std::int64_t step = 0;  // updates of this parameter (torch keeps one per parameter too)
    std::vector<Tensor> tensors = std::vector<Tensor>(3);  // positions of update_element's s0..s2
  };
  Slots& slots_for(const ParamRef& p);
  // The backend's view of an update of these parameters: state slots and this step's constants.
  std::vector<ParamUpdate> updates_for(const std::vector<ParamRef>& params);

  OptimizerOptions defaults_;
  std::map<std::string, OptimizerOptions> groups_;
  std::map<std::string, Slots> state_;
  std::int64_t steps_ = 0;
  double lr_scale_ = 1.0;
  bool check_loaded_ = false;  // the next update checks the loaded state against its parameters
  std::shared_ptr<UpdateCache> update_cache_;  // the backend's, from the last update
};

// The state slots a rule keeps per parameter, in torch.optim's names.
MYELIN_API std::vector<std::string> optimizer_slot_names(const OptimizerOptions& options);

}  // namespace myelin
