#include "myelin/optimizer.hpp"

#include <cmath>
#include <set>
#include <sstream>

#include "backends/backend.hpp"
#include "kernels/update_rules.hpp"
#include "myelin/error.hpp"

namespace myelin {

const char* optimizer_kind_name(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kMomentum:
      return "momentum";
    case OptimizerKind::kMomentumEma:
      return "momentum_ema";
    case OptimizerKind::kNesterov:
      return "nesterov";
    case OptimizerKind::kRmsprop:
      return "rmsprop";
    case OptimizerKind::kAdagrad:
      return "adagrad";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
  }
  return "?";
}

// ---- options -------------------------------------------------------------------------------

OptimizerOptions OptimizerOptions::sgd(double lr) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kSgd;
  o.lr = lr;
  return o;
}

OptimizerOptions OptimizerOptions::momentum_sgd(double lr, double beta) {
  OptimizerOptions o = sgd(lr);
  o.kind = OptimizerKind::kMomentum;
  o.momentum = beta;
  return o;
}

OptimizerOptions OptimizerOptions::momentum_ema(double lr, double beta) {
  OptimizerOptions o = momentum_sgd(lr, beta);
  o.kind = OptimizerKind::kMomentumEma;
  return o;
}

OptimizerOptions OptimizerOptions::nesterov(double lr, double beta) {
  OptimizerOptions o = momentum_sgd(lr, beta);
  o.kind = OptimizerKind::kNesterov;
  return o;
}

OptimizerOptions OptimizerOptions::rmsprop(double lr, double alpha, double eps) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kRmsprop;
  o.lr = lr;
  o.alpha = alpha;
  o.eps = eps;
  return o;
}

OptimizerOptions OptimizerOptions::adagrad(double lr, double eps) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kAdagrad;
  o.lr = lr;
  o.eps = eps;
  return o;
}

OptimizerOptions OptimizerOptions::adam(double lr, double beta1, double beta2, double eps) {
  OptimizerOptions o;
  o.kind = OptimizerKind::kAdam;
  o.lr = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  return o;
}

OptimizerOptions OptimizerOptions::adamw(double lr, double weight_decay, double beta1, double beta2,
                                         double eps) {
  OptimizerOptions o = adam(lr, beta1, beta2, eps);
  o.kind = OptimizerKind::kAdamW;
  o.weight_decay = weight_decay;
  return o;
}

void OptimizerOptions::validate() const {
  auto check = [&](bool ok, const char* field, double value, const char* expected) {
    if (!ok) {
      fail("optimizer ", optimizer_kind_name(kind), ": ", field, " = ", value, " is out of range (",
           expected, ")");
    }
  };
  check(lr >= 0.0 && std::isfinite(lr), "lr", lr, ">= 0");
  check(momentum >= 0.0 && momentum < 1.0, "momentum", momentum, "in [0, 1)");
  check(alpha >= 0.0 && alpha < 1.0, "alpha", alpha, "in [0, 1)");
  check(beta1 >= 0.0 && beta1 < 1.0, "beta1", beta1, "in [0, 1)");
  check(beta2 >= 0.0 && beta2 < 1.0, "beta2", beta2, "in [0, 1)");
  check(eps >= 0.0, "eps", eps, ">= 0");
  check(lr_decay >= 0.0, "lr_decay", lr_decay, ">= 0");
  check(initial_accumulator >= 0.0, "initial_accumulator", initial_accumulator, ">= 0");
  check(l2 >= 0.0, "l2", l2, ">= 0");
  check(weight_decay >= 0.0, "weight_decay", weight_decay, ">= 0");
}

std::string OptimizerOptions::str() const {
  std::ostringstream out;
  out << optimizer_kind_name(kind) << "(lr=" << lr;
  switch (kind) {
    case OptimizerKind::kMomentum:
    case OptimizerKind::kMomentumEma:
    case OptimizerKind::kNesterov:
      out << ", momentum=" << momentum;
      break;
    case OptimizerKind::kRmsprop:
      out << ", alpha=" << alpha << ", eps=" << eps;
      if (momentum > 0) out << ", momentum=" << momentum;
      if (centered) out << ", centered";
      break;
    case OptimizerKind::kAdagrad:
      out << ", eps=" << eps << ", lr_decay=" << lr_decay;
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      out << ", betas=(" << beta1 << ", " << beta2 << "), eps=" << eps;
      if (amsgrad) out << ", amsgrad";
      break;
    case OptimizerKind::kSgd:
      break;
  }
  if (l2 > 0) out << ", l2=" << l2;
  if (weight_decay > 0) out << ", weight_decay=" << weight_decay;
  return out.str() + ")";
}

std::vector<std::string> optimizer_slot_names(const OptimizerOptions& o) {
  switch (o.kind) {
    case OptimizerKind::kSgd:
      return {};
    case OptimizerKind::kMomentum:
    case OptimizerKind::kMomentumEma:
    case OptimizerKind::kNesterov:
      return {"momentum_buffer"};
    case OptimizerKind::kRmsprop:
      return {"square_avg", o.momentum > 0 ? "momentum_buffer" : "", o.centered ? "grad_avg" : ""};
    case OptimizerKind::kAdagrad:
      return {"sum"};
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return {"exp_avg", "exp_avg_sq", o.amsgrad ? "max_exp_avg_sq" : ""};
  }
  return {};
}

// ---- optimizer -----------------------------------------------------------------------------

namespace {

UpdateRule rule_of(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return UpdateRule::kSgd;
    case OptimizerKind::kMomentum:
      return UpdateRule::kMomentum;
    case OptimizerKind::kMomentumEma:
      return UpdateRule::kMomentumEma;
    case OptimizerKind::kNesterov:
      return UpdateRule::kNesterov;
    case OptimizerKind::kRmsprop:
      return UpdateRule::kRmsprop;
    case OptimizerKind::kAdagrad:
      return UpdateRule::kAdagrad;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return UpdateRule::kAdam;
  }
  return UpdateRule::kSgd;
}

// The step's scalars for one group; t counts from 1.
UpdateConstants<double> update_constants(const OptimizerOptions& o, double lr, std::int64_t t) {
  UpdateConstants<double> k;
  k.rule = rule_of(o.kind);
  k.lr = lr;
  k.l2 = o.l2;
  k.decay = 1.0 - lr * o.weight_decay;
  k.momentum = o.momentum;
  k.alpha = o.alpha;
  k.beta1 = o.beta1;
  k.beta2 = o.beta2;
  k.eps = o.eps;
  k.centered = o.centered;
  k.amsgrad = o.amsgrad;
  const double td = static_cast<double>(t);
  if (k.rule == UpdateRule::kAdam) {
    k.step_size = lr / (1.0 - std::pow(o.beta1, td));
    k.bias_correction2_sqrt = std::sqrt(1.0 - std::pow(o.beta2, td));
  } else if (k.rule == UpdateRule::kAdagrad) {
    k.step_size = lr / (1.0 + (td - 1.0) * o.lr_decay);
  }
  return k;
}

}  // namespace

Optimizer::Optimizer(const OptimizerOptions& options) : defaults_(options) {
  defaults_.validate();
  OptimizerOptions no_decay = options;
  no_decay.l2 = 0.0;
  no_decay.weight_decay = 0.0;
  groups_["no_decay"] = no_decay;
}

void Optimizer::set_group(const std::string& group, const OptimizerOptions& options) {
  if (options.kind != defaults_.kind) {
    fail("optimizer group '", group, "' asks for ", optimizer_kind_name(options.kind),
         " but the optimizer is ", optimizer_kind_name(defaults_.kind));
  }
  options.validate();
  groups_[group] = options;
}

const OptimizerOptions& Optimizer::group(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? defaults_ : it->second;
}

void Optimizer::set_lr_scale(double scale) {
  if (!(scale >= 0.0) || !std::isfinite(scale)) {
    fail("optimizer: the learning-rate scale must be finite and >= 0, got ", scale);
  }
  lr_scale_ = scale;
}

double Optimizer::lr(const std::string& group_name) const {
  return group(group_name).lr * lr_scale_;
}

namespace {
// Where update_element keeps a slot of that name for this kind; -1 when it keeps none.
int slot_index(OptimizerKind kind, const std::string& slot) {
  OptimizerOptions all;
  all.kind = kind;
  all.momentum = 0.5;
  all.centered = true;
  all.amsgrad = true;
  const std::vector<std::string> names = optimizer_slot_names(all);
  for (std::size_t s = 0; s < names.size(); ++s) {
    if (names[s] == slot) return static_cast<int>(s);
  }
  return -1;
}
}  // namespace

Optimizer::Slots& Optimizer::slots_for(const ParamRef& p) {
  Slots& slots = state_[p.name];
  const OptimizerOptions& o = group(p.group);
  const std::vector<std::string> names = optimizer_slot_names(o);
  for (std::size_t s = 0; s < names.size(); ++s) {
    if (names[s].empty()) continue;
    Tensor& t = slots.tensors[s];
    if (!t.defined()) {
      // Adagrad's sum starts at initial_accumulator; every other slot at 0.
      const double start = o.kind == OptimizerKind::kAdagrad ? o.initial_accumulator : 0.0;
      t = Tensor::full(p.value->shape(), start, p.value->dtype()).to(p.value->device());
    } else if (t.shape() != p.value->shape()) {
      fail("optimizer state '", p.name, ".", names[s], "' has shape ", t.shape().str(),
           " but the parameter is ", p.value->shape().str());
    } else if (t.dtype() != p.value->dtype() || t.device() != p.value->device()) {
      t = t.to(p.value->dtype()).to(p.value->device());  // e.g. state loaded from a file
    }
  }
  return slots;
}

std::vector<ParamUpdate> Optimizer::updates_for(const std::vector<ParamRef>& params) {
  if (check_loaded_) {
    // A renamed or dropped entry would silently restart that parameter's moments.
    std::set<std::string> trained;
    for (const ParamRef& p : params) trained.insert(p.name);
    for (const auto& [name, slots] : state_) {
      if (trained.count(name) == 0) {
        fail("optimizer state for '", name, "' names no parameter being trained");
      }
    }
    for (const ParamRef& p : params) {
      const auto it = state_.find(p.name);
      if (it == state_.end()) continue;  // not trained before (unfrozen since): starts fresh
      const std::vector<std::string> names = optimizer_slot_names(group(p.group));
      for (std::size_t s = 0; s < names.size(); ++s) {
        if (!names[s].empty() && !it->second.tensors[s].defined()) {
          fail("optimizer state for '", p.name, "' lacks '", names[s], "'");
        }
      }
    }
    check_loaded_ = false;
  }
  std::vector<ParamUpdate> updates;
  for (const ParamRef& p : params) {
    if (p.value == nullptr || p.grad == nullptr) {
      fail("optimizer: parameter '", p.name, "' is unbound");
    }
    if (p.grad->shape() != p.value->shape()) {
      fail("optimizer: gradient of '", p.name, "' is ", p.grad->shape().str(), ", the parameter ",
           p.value->shape().str());
    }
    const OptimizerOptions& o = group(p.group);
    Slots& slots = slots_for(p);
    ParamUpdate u;
    u.value = p.value;
    // Clipping scales the gradient in place: the executor's own gradient buffer.
    u.grad = const_cast<Tensor*>(p.grad);
    const std::vector<std::string> names = optimizer_slot_names(o);
    for (std::size_t s = 0; s < names.size(); ++s) {
      if (!names[s].empty()) u.slots[s] = &slots.tensors[s];
    }
    u.step = &slots.step;
    u.constants = update_constants(o, o.lr * lr_scale_, slots.step + 1);
    updates.push_back(u);
  }
  return updates;
}

void Optimizer::step(const std::vector<ParamRef>& params) {
  for (const ParamRef& p : params) {
    if (p.value != nullptr && !p.value->device().is_cpu()) {
      fail("optimizer: parameter '", p.name, "' is on ", p.value->device().str(),
           "; device parameters are updated through step(executor)");
    }
  }
  const std::vector<ParamUpdate> updates = updates_for(params);
  make_execution_backend(BackendOptions{})
      ->update(updates, GradientClipping{}, update_cache_, UpdatePart::kAll);
  ++steps_;
}

void Optimizer::step(Executor& executor, const GradientClipping& clipping) {
  step(executor, clipping, UpdatePart::kAll);
}

void Optimizer::step(Executor& executor, const GradientClipping& clipping, UpdatePart part) {
  if (clipping.max_norm < 0.0 || clipping.max_value < 0.0) {
    fail("optimizer: clipping thresholds must be >= 0 (0: off), got max_norm ", clipping.max_norm,
         " and max_value ", clipping.max_value);
  }
  std::vector<ParamRef> params;
  const Graph& g = executor.graph();
  for (Value v : executor.trainable_parameters()) {
    const ValueInfo& info = g.info(v);
    params.push_back({info.name, info.group, &executor.param(v), &executor.grad(v)});
  }
  const std::vector<ParamUpdate> updates = updates_for(params);
  executor.execution_backend().update(updates, clipping, update_cache_, part);
  if (part != UpdatePart::kKernels) ++steps_;
}

double Optimizer::last_grad_norm() const {
  return update_cache_ ? update_cache_->last_norm() : 0.0;
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  out.emplace_back("step", Tensor::scalar<std::int64_t>(steps_));
  OptimizerOptions all;
  all.kind = defaults_.kind;
  all.momentum = 0.5;
  all.centered = true;
  all.amsgrad = true;
  const std::vector<std::string> names = optimizer_slot_names(all);
  for (const auto& [name, slots] : state_) {
    out.emplace_back(name + ".step", Tensor::scalar<std::int64_t>(slots.step));
    for (std::size_t s = 0; s < names.size(); ++s) {
      if (slots.tensors[s].defined()) {
        out.emplace_back(name + "." + names[s], slots.tensors[s].to(Device::cpu()).clone());
      }
    }
  }
  return out;
}

void Optimizer::load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state) {
  std::map<std::string, Slots> loaded;
  bool have_step = false;
  std::int64_t steps = 0;
  for (const auto& [key, tensor] : state) {
    if (!tensor.defined()) fail("optimizer state '", key, "' is undefined");
    if (key == "step") {
      if (tensor.dtype() != DType::kInt64 || tensor.numel() != 1) {
        fail("optimizer state 'step' must be an int64 scalar, got ", tensor.str());
      }
      steps = static_cast<std::int64_t>(tensor.item());
      have_step = true;
      continue;
    }
    const std::size_t dot = key.rfind('.');
    if (dot == std::string::npos || dot == 0) {
      fail("optimizer state '", key, "': expected '<parameter>.<slot>'");
    }
    const std::string param = key.substr(0, dot);
    const std::string slot = key.substr(dot + 1);
    if (slot == "step") {
      if (tensor.dtype() != DType::kInt64 || tensor.numel() != 1) {
        fail("optimizer state '", key, "' must be an int64 scalar, got ", tensor.str());
      }
      loaded[param].step = static_cast<std::int64_t>(tensor.item());
      continue;
    }
    const int index = slot_index(defaults_.kind, slot);
    if (index < 0) {
      fail("optimizer state '", key, "': ", optimizer_kind_name(defaults_.kind),
           " keeps no slot named '", slot, "'");
    }
    if (!is_floating(tensor.dtype())) fail("optimizer state '", key, "' must be floating point");
    // Second moments and accumulators feed a square root: they are never negative.
    const bool non_negative =
        slot == "exp_avg_sq" || slot == "max_exp_avg_sq" || slot == "square_avg" || slot == "sum";
    const std::vector<double> values = tensor.to_vector<double>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        fail("optimizer state '", key, "' holds ", values[i], " at element ", i);
      }
      if (non_negative && values[i] < 0.0) {
        fail("optimizer state '", key, "' holds ", values[i], " at element ", i,
             ": it must not be negative");
      }
    }
    loaded[param].tensors[static_cast<std::size_t>(index)] = tensor.clone();
  }
  if (!have_step) fail("optimizer state has no 'step' entry");
  if (steps < 0) fail("optimizer state 'step' is ", steps, ", a count of updates");
  for (const auto& [param, slots] : loaded) {
    if (slots.step < 0 || slots.step > steps) {
      fail("optimizer state '", param, ".step' is ", slots.step, ", outside [0, ", steps, "]");
    }
  }
  state_ = std::move(loaded);
  steps_ = steps;
  check_loaded_ = !state_.empty();
}

}  // namespace myelin
