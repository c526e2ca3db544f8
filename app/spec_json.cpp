// Writing model specs: every field spelled out, as a run directory keeps them (spec.json).
#include <nlohmann/json.hpp>

#include "myelin/app/spec.hpp"

namespace myelin {

namespace {

using Json = nlohmann::json;

Json attr_json(const AttrValue& value) {
  return std::visit([](const auto& v) { return Json(v); }, value);
}

Json init_json(const Init& init) {
  Json j;
  switch (init.kind) {
    case Init::Kind::kZeros:
      j = {{"type", "zeros"}};
      break;
    case Init::Kind::kConstant:
      j = {{"type", "constant"}, {"value", init.a}};
      break;
    case Init::Kind::kUniform:
      j = {{"type", "uniform"}, {"low", init.a}, {"high", init.b}};
      break;
    case Init::Kind::kNormal:
      j = {{"type", "normal"}, {"mean", init.a}, {"std", init.b}};
      break;
    case Init::Kind::kXavierUniform:
      j = {{"type", "xavier_uniform"}, {"gain", init.gain}};
      break;
    case Init::Kind::kXavierNormal:
      j = {{"type", "xavier_normal"}, {"gain", init.gain}};
      break;
    case Init::Kind::kKaimingUniform:
    case Init::Kind::kKaimingNormal: {
      static const char* const names[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu"};
      j = {
          {"type", init.kind == Init::Kind::kKaimingUniform ? "kaiming_uniform" : "kaiming_normal"},
          {"nonlinearity", names[static_cast<int>(init.nonlinearity)]},
          {"a", init.negative_slope},
          {"mode", init.mode == FanMode::kFanIn ? "fan_in" : "fan_out"}};
      break;
    }
  }
  return j;
}

void differences(const Json& a, const Json& b, const std::string& path,
                 std::vector<SpecDifference>& out) {
  if (a.is_object() && b.is_object()) {
    std::vector<std::string> keys;
    for (const auto& item : a.items()) keys.push_back(item.key());
    for (const auto& item : b.items()) {
      if (!a.contains(item.key())) keys.push_back(item.key());
    }
    for (const std::string& k : keys) {
      const std::string field = path.empty() ? k : path + "." + k;
      if (!a.contains(k) || !b.contains(k)) {
        out.push_back({field, a.contains(k) ? a.at(k).dump() : "nothing",
                       b.contains(k) ? b.at(k).dump() : "nothing"});
      } else {
        differences(a.at(k), b.at(k), field, out);
      }
    }
  } else if (a.is_array() && b.is_array() && a.size() == b.size()) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      differences(a[i], b[i], path + "[" + std::to_string(i) + "]", out);
    }
  } else if (a != b) {
    out.push_back({path, a.dump(), b.dump()});
  }
}

}  // namespace

std::vector<SpecDifference> spec_differences(const ModelSpec& before, const ModelSpec& after) {
  std::vector<SpecDifference> out;
  differences(Json::parse(model_spec_json(before)), Json::parse(model_spec_json(after)), "", out);
  return out;
}

std::string model_spec_json(const ModelSpec& spec) {
  Json layers = Json::array();
  for (const LayerSpec& l : spec.layers) {
    Json j = {{"type", l.type}};
    if (l.type == "linear") {
      j["out"] = l.out;
      if (l.in != 0) j["in"] = l.in;
      j["bias"] = l.bias;
      if (l.weight_init) j["init"] = init_json(*l.weight_init);
      if (l.bias_init) j["bias_init"] = init_json(*l.bias_init);
    } else {
      for (const auto& [name, value] : l.attrs.items()) j[name] = attr_json(value);
    }
    layers.push_back(j);
  }
  // Only the fields each type uses: the reader refuses the others.
  const OptimizerOptions& o = spec.optimizer;
  Json optimizer = {{"type", optimizer_kind_name(o.kind)}, {"lr", o.lr}};
  switch (o.kind) {
    case OptimizerKind::kSgd:
      break;
    case OptimizerKind::kMomentum:
    case OptimizerKind::kMomentumEma:
    case OptimizerKind::kNesterov:
      optimizer["momentum"] = o.momentum;
      break;
    case OptimizerKind::kRmsprop:
      optimizer["alpha"] = o.alpha;
      optimizer["eps"] = o.eps;
      optimizer["momentum"] = o.momentum;
      optimizer["centered"] = o.centered;
      break;
    case OptimizerKind::kAdagrad:
      optimizer["eps"] = o.eps;
      optimizer["lr_decay"] = o.lr_decay;
      optimizer["initial_accumulator"] = o.initial_accumulator;
      break;
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      optimizer["beta1"] = o.beta1;
      optimizer["beta2"] = o.beta2;
      optimizer["eps"] = o.eps;
      optimizer["amsgrad"] = o.amsgrad;
      break;
  }
  optimizer["l2"] = o.l2;
  optimizer["weight_decay"] = o.weight_decay;
  const LrSchedule& s = spec.schedule;
  static const char* const kinds[] = {"constant", "step", "exponential", "inverse_time", "cosine"};
  Json schedule = {{"type", kinds[static_cast<int>(s.kind)]}};
  switch (s.kind) {
    case LrSchedule::Kind::kStep:
      schedule["step_epochs"] = s.step_epochs;
      schedule["gamma"] = s.gamma;
      break;
    case LrSchedule::Kind::kExponential:
      schedule["gamma"] = s.gamma;
      break;
    case LrSchedule::Kind::kInverseTime:
      schedule["decay_rate"] = s.decay_rate;
      break;
    case LrSchedule::Kind::kCosine:
      schedule["epochs"] = s.cosine_epochs;
      schedule["min_factor"] = s.min_factor;
      break;
    case LrSchedule::Kind::kConstant:
      break;
  }
  schedule["warmup_steps"] = s.warmup_steps;
  schedule["per_step"] = s.per_step;
  const DataSpec& d = spec.data;
  Json data = {{"format", d.format},
               {"dev_size", d.dev_size},
               {"train_dev_size", d.train_dev_size},
               {"limit", d.limit},
               {"normalize", d.normalize}};
  if (d.format == "csv") {
    data["train_csv"] = d.train_csv;
    data["test_csv"] = d.test_csv;
    if (!d.dev_csv.empty()) data["dev_csv"] = d.dev_csv;
    if (d.label_columns.empty()) {
      data["label_column"] = d.label_column;
    } else {
      Json columns = Json::array();
      for (const ColumnRef& c : d.label_columns) {
        columns.push_back(c.name.empty() ? Json(c.index) : Json(c.name));
      }
      data["label_columns"] = columns;
    }
  } else {
    data["train_features"] = d.train_features;
    data["train_labels"] = d.train_labels;
    data["test_features"] = d.test_features;
    data["test_labels"] = d.test_labels;
    if (!d.dev_features.empty()) {
      data["dev_features"] = d.dev_features;
      data["dev_labels"] = d.dev_labels;
    }
  }
  Json root = {{"task", task_name(spec.task)},
               {"layers", layers},
               {"optimizer", optimizer},
               {"schedule", schedule},
               {"clip_norm", spec.clip_norm},
               {"clip_value", spec.clip_value},
               {"on_nonfinite", spec.on_nonfinite},
               {"diagnostics_every", spec.diagnostics_every},
               {"batch_size", spec.batch_size},
               {"epochs", spec.epochs},
               {"seed", spec.seed},
               {"device", spec.device},
               {"data", data},
               {"freeze", spec.freeze},
               {"frozen_batch_norm", spec.frozen_batch_norm}};
  if (spec.on_nonfinite == "skip") root["max_skipped"] = spec.max_skipped;
  if (!spec.search.empty()) root["search"] = Json::parse(spec.search);
  if (spec.early_stopping.enabled) {
    root["early_stopping"] = {{"metric", spec.early_stopping.metric},
                              {"patience", spec.early_stopping.patience},
                              {"min_delta", spec.early_stopping.min_delta}};
  }
  return root.dump(2) + "\n";
}

}  // namespace myelin
