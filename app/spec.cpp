// Reading model specs: strict JSON with errors that name the field.
#include "myelin/app/spec.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "myelin/io.hpp"
#include "myelin/op.hpp"
#include "util/strings.hpp"

namespace myelin {

SpecError::~SpecError() = default;

const char* task_name(Task task) {
  switch (task) {
    case Task::kMultiLabel:
      return "multi_label";
    case Task::kRegression:
      return "regression";
    case Task::kClassification:
      break;
  }
  return "classification";
}

std::vector<std::string> task_metrics(Task task) {
  switch (task) {
    case Task::kMultiLabel:
      return {"macro_auc", "macro_f1"};
    case Task::kRegression:
      return {"r2", "rmse"};
    case Task::kClassification:
      break;
  }
  return {"accuracy"};
}

bool lower_is_better(const std::string& metric) {
  for (const char* suffix : {"loss", "error", "rmse", "mse", "mae"}) {
    const std::string end(suffix);
    if (metric.size() >= end.size() &&
        metric.compare(metric.size() - end.size(), end.size(), end) == 0) {
      return true;
    }
  }
  return false;
}

namespace {

using Json = nlohmann::json;

const char* json_type(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

// Reads the fields of one JSON object strictly: unknown keys, wrong types and values out of
// range are SpecErrors naming the field's path ("layers[2].p").
class Fields {
 public:
  Fields(const Json& object, std::string path, const std::string& source,
         std::vector<std::string> allowed)
      : object_(object), path_(std::move(path)), source_(source) {
    if (!object.is_object()) error("", "expected an object, got ", json_type(object));
    for (const auto& item : object.items()) {
      bool known = false;
      for (const std::string& a : allowed) known = known || a == item.key();
      if (!known) {
        error(item.key(), "unknown field", did_you_mean(item.key(), allowed),
              allowed.empty() ? std::string(" (this takes no fields)") : std::string());
      }
    }
  }

  template <typename... Args>
  [[noreturn]] void error(const std::string& key, const Args&... parts) const {
    std::string where = path_;
    if (!key.empty()) where += (where.empty() ? "" : ".") + key;
    throw SpecError(source_ + ": " + (where.empty() ? std::string() : where + ": ") +
                    detail::concat(parts...));
  }

  bool has(const std::string& key) const { return object_.contains(key); }
  const Json& at(const std::string& key) const { return object_.at(key); }

  double number(const std::string& key, double fallback, double lo, double hi,
                const char* range) const {
    if (!has(key)) return fallback;
    const Json& v = at(key);
    if (!v.is_number())
      error(key, "expected a number ", range, ", got ", json_type(v), " ", v.dump());
    const double d = v.get<double>();
    if (!(d >= lo && d <= hi) || !std::isfinite(d))
      error(key, "expected a number ", range, ", got ", v.dump());
    return d;
  }

  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) const {
    if (!has(key)) return fallback;
    const Json& v = at(key);
    if (!v.is_number_integer()) {
      error(key, "expected an integer in [", lo, ", ", hi, "], got ", json_type(v), " ", v.dump());
    }
    // Above 2^63 - 1 the value is only readable unsigned: print it as written.
    if (v.is_number_unsigned() &&
        v.get<std::uint64_t>() >
            static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      error(key, "expected an integer in [", lo, ", ", hi, "], got ", v.get<std::uint64_t>());
    }
    const std::int64_t i = v.get<std::int64_t>();
    if (i < lo || i > hi) error(key, "expected an integer in [", lo, ", ", hi, "], got ", i);
    return i;
  }

  // An unsigned 64-bit integer (seeds take every value).
  std::uint64_t unsigned_integer(const std::string& key, std::uint64_t fallback) const {
    if (!has(key)) return fallback;
    const Json& v = at(key);
    if (!v.is_number_unsigned()) {
      error(key, "expected an integer in [0, ", std::numeric_limits<std::uint64_t>::max(),
            "], got ", json_type(v), " ", v.dump());
    }
    return v.get<std::uint64_t>();
  }

  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const Json& v = at(key);
    if (!v.is_boolean()) error(key, "expected true or false, got ", json_type(v), " ", v.dump());
    return v.get<bool>();
  }

  std::string text(const std::string& key, const std::string& fallback,
                   const std::vector<std::string>& choices = {}) const {
    if (!has(key)) return fallback;
    const Json& v = at(key);
    if (!v.is_string()) error(key, "expected a string, got ", json_type(v), " ", v.dump());
    const std::string s = v.get<std::string>();
    if (!choices.empty()) {
      bool ok = false;
      std::string list;
      for (const std::string& c : choices) {
        ok = ok || c == s;
        list += (list.empty() ? "" : ", ") + c;
      }
      if (!ok) error(key, "'", s, "' is not one of ", list, did_you_mean(s, choices));
    }
    return s;
  }

  const std::string& path() const { return path_; }
  std::string child(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

 private:
  const Json& object_;
  std::string path_;
  const std::string& source_;
};

// The "type" of an object whose other fields depend on it, read before its fields are checked.
std::string probe_type(const Json& j, const std::string& path, const std::string& source,
                       const std::string& fallback, const std::vector<std::string>& types) {
  if (!j.is_object()) {
    throw SpecError(source + ": " + path + ": expected an object, got " + json_type(j));
  }
  if (!j.contains("type")) return fallback;
  Json probe_object = Json::object();
  probe_object["type"] = j.at("type");
  const Fields probe(probe_object, path, source, {"type"});
  return probe.text("type", fallback, types);
}

// A field that the whole object knows but its type does not use is an error, never ignored.
void check_used_fields(const Json& j, const std::string& path, const std::string& source,
                       const std::string& type, const std::vector<std::string>& all,
                       const std::vector<std::string>& used) {
  for (const auto& item : j.items()) {
    const bool known = std::find(all.begin(), all.end(), item.key()) != all.end();
    const bool is_used = std::find(used.begin(), used.end(), item.key()) != used.end();
    if (known && !is_used) {
      throw SpecError(source + ": " + path + "." + item.key() + ": " + type + " does not use " +
                      item.key() + " (its fields: " + join(used, ", ") + ")");
    }
  }
}

Init parse_init(const Json& j, const std::string& path, const std::string& source) {
  static const std::vector<std::string> kinds = {
      "zeros",         "constant",        "uniform",        "normal", "xavier_uniform",
      "xavier_normal", "kaiming_uniform", "kaiming_normal", "pytorch"};
  Json object = j;
  if (j.is_string()) {
    object = Json::object();
    object["type"] = j;
  }
  const Fields f(
      object, path, source,
      {"type", "value", "low", "high", "mean", "std", "gain", "nonlinearity", "a", "mode"});
  const std::string type = f.text("type", "", kinds);
  if (type.empty())
    f.error("type",
            "missing: one of zeros, constant, uniform, normal, xavier_uniform, "
            "xavier_normal, kaiming_uniform, kaiming_normal, pytorch");
  const double inf = INFINITY;
  if (type == "zeros") return Init::zeros();
  if (type == "constant") return Init::constant(f.number("value", 0.0, -inf, inf, "(any)"));
  if (type == "uniform") {
    const double low = f.number("low", -0.05, -inf, inf, "(any)");
    const double high = f.number("high", 0.05, low, inf, ">= low");
    return Init::uniform(low, high);
  }
  if (type == "normal") {
    return Init::normal(f.number("mean", 0.0, -inf, inf, "(any)"),
                        f.number("std", 0.01, 0.0, inf, ">= 0"));
  }
  if (type == "xavier_uniform")
    return Init::xavier_uniform(f.number("gain", 1.0, 0.0, inf, ">= 0"));
  if (type == "xavier_normal") return Init::xavier_normal(f.number("gain", 1.0, 0.0, inf, ">= 0"));
  if (type == "pytorch") return Init::linear_default();
  const std::string nl =
      f.text("nonlinearity", "relu", {"linear", "sigmoid", "tanh", "relu", "leaky_relu"});
  const Nonlinearity n = nl == "linear"    ? Nonlinearity::kLinear
                         : nl == "sigmoid" ? Nonlinearity::kSigmoid
                         : nl == "tanh"    ? Nonlinearity::kTanh
                         : nl == "relu"    ? Nonlinearity::kRelu
                                           : Nonlinearity::kLeakyRelu;
  const double a = f.number("a", 0.0, 0.0, inf, ">= 0");
  const FanMode mode = f.text("mode", "fan_in", {"fan_in", "fan_out"}) == "fan_in"
                           ? FanMode::kFanIn
                           : FanMode::kFanOut;
  return type == "kaiming_uniform" ? Init::kaiming_uniform(n, a, mode)
                                   : Init::kaiming_normal(n, a, mode);
}

// A layer op's attribute from its spec field, by the op table's type, default and range.
AttrValue parse_attr(const Fields& f, const AttrSpec& spec) {
  if (!f.has(spec.name)) return spec.default_value;
  const Json& v = f.at(spec.name);
  const std::string expected = spec.expected();
  AttrValue value;
  switch (spec.default_value.index()) {
    case 0:
      if (!v.is_number_integer()) f.error(spec.name, "expected ", expected, ", got ", v.dump());
      value = v.get<std::int64_t>();
      break;
    case 1:
      if (!v.is_number() || !std::isfinite(v.get<double>())) {
        f.error(spec.name, "expected ", expected, ", got ", json_type(v), " ", v.dump());
      }
      value = v.get<double>();
      break;
    case 2:
      return f.boolean(spec.name, false);
    case 3:
      if (!v.is_string())
        f.error(spec.name, "expected a string, got ", json_type(v), " ", v.dump());
      value = v.get<std::string>();
      if (!spec.accepts(value)) {
        const std::string s = v.get<std::string>();
        f.error(spec.name, "'", s, "' is not ", expected, did_you_mean(s, spec.choices));
      }
      return value;
    default: {
      if (!v.is_array()) f.error(spec.name, "expected a list of integers, got ", v.dump());
      std::vector<std::int64_t> list;
      for (const Json& item : v) {
        if (!item.is_number_integer()) {
          f.error(spec.name, "expected a list of integers, got ", v.dump());
        }
        list.push_back(item.get<std::int64_t>());
      }
      return list;
    }
  }
  if (!spec.accepts(value)) f.error(spec.name, "expected ", expected, ", got ", v.dump());
  return value;
}

LayerSpec parse_layer(const Json& j, const std::string& path, const std::string& source) {
  if (!j.is_object()) {
    throw SpecError(source + ": " + path +
                    ": expected an object like {\"type\": \"linear\", \"out\": 10}, got " +
                    json_type(j));
  }
  std::vector<std::string> types = {"linear"};
  const std::vector<std::string> ops = spec_layer_ops();
  types.insert(types.end(), ops.begin(), ops.end());
  std::string type;
  if (j.contains("type")) {
    Json probe_object = Json::object();
    probe_object["type"] = j.at("type");
    const Fields probe(probe_object, path, source, {"type"});
    type = probe.text("type", "", types);
  } else {
    throw SpecError(source + ": " + path +
                    ".type: missing (one of linear, batch_norm, dropout, relu, ...)");
  }
  LayerSpec l;
  l.type = type;
  if (type == "linear") {
    const Fields f(j, path, source, {"type", "in", "out", "bias", "init", "bias_init"});
    if (!f.has("out")) f.error("out", "missing: the number of output features");
    l.out = f.integer("out", 0, 1, std::int64_t{1} << 31);
    l.in = f.integer("in", 0, 1, std::int64_t{1} << 31);
    l.bias = f.boolean("bias", true);
    if (f.has("init")) l.weight_init = parse_init(f.at("init"), f.child("init"), source);
    if (f.has("bias_init"))
      l.bias_init = parse_init(f.at("bias_init"), f.child("bias_init"), source);
    return l;
  }
  const OpDef& op = find_op(type);
  std::vector<std::string> allowed = {"type"};
  for (const AttrSpec& a : op.attrs) allowed.push_back(a.name);
  const Fields f(j, path, source, allowed);
  for (const AttrSpec& a : op.attrs) l.attrs.set(a.name, parse_attr(f, a));
  return l;
}

OptimizerOptions parse_optimizer(const Json& j, const std::string& source) {
  const std::vector<std::string> kinds = {"sgd",     "momentum", "momentum_ema", "nesterov",
                                          "rmsprop", "adagrad",  "adam",         "adamw"};
  const std::string type = probe_type(j, "optimizer", source, "adam", kinds);
  std::vector<std::string> used = {"type", "lr"};
  if (type == "sgd" || type == "momentum" || type == "momentum_ema" || type == "nesterov") {
    used.push_back("momentum");
  } else if (type == "rmsprop") {
    used.insert(used.end(), {"alpha", "eps", "momentum", "centered"});
  } else if (type == "adagrad") {
    used.insert(used.end(), {"eps", "lr_decay", "initial_accumulator"});
  } else {
    used.insert(used.end(), {"beta1", "beta2", "eps", "amsgrad"});
  }
  used.insert(used.end(), {"l2", "weight_decay"});
  const std::vector<std::string> all = {"type",        "lr",       "momentum",
                                        "alpha",       "beta1",    "beta2",
                                        "eps",         "lr_decay", "initial_accumulator",
                                        "centered",    "amsgrad",  "l2",
                                        "weight_decay"};
  check_used_fields(j, "optimizer", source, type, all, used);
  const Fields f(j, "optimizer", source, used);
  OptimizerOptions o = type == "sgd"            ? OptimizerOptions::sgd()
                       : type == "momentum"     ? OptimizerOptions::momentum_sgd()
                       : type == "momentum_ema" ? OptimizerOptions::momentum_ema()
                       : type == "nesterov"     ? OptimizerOptions::nesterov()
                       : type == "rmsprop"      ? OptimizerOptions::rmsprop()
                       : type == "adagrad"      ? OptimizerOptions::adagrad()
                       : type == "adam"         ? OptimizerOptions::adam()
                                                : OptimizerOptions::adamw();
  const double inf = INFINITY;
  o.lr = f.number("lr", o.lr, 0.0, inf, ">= 0");
  o.momentum = f.number("momentum", o.momentum, 0.0, 0.999999, "in [0, 1)");
  // torch.optim.SGD(momentum=m): with m > 0 it is the momentum rule (v = m v + g; w -= lr v),
  // which spec.json then names.
  if (type == "sgd" && o.momentum > 0.0) o.kind = OptimizerKind::kMomentum;
  o.alpha = f.number("alpha", o.alpha, 0.0, 0.999999, "in [0, 1)");
  o.beta1 = f.number("beta1", o.beta1, 0.0, 0.999999, "in [0, 1)");
  o.beta2 = f.number("beta2", o.beta2, 0.0, 0.999999, "in [0, 1)");
  o.eps = f.number("eps", o.eps, 0.0, inf, ">= 0");
  o.lr_decay = f.number("lr_decay", o.lr_decay, 0.0, inf, ">= 0");
  o.initial_accumulator = f.number("initial_accumulator", o.initial_accumulator, 0.0, inf, ">= 0");
  o.centered = f.boolean("centered", o.centered);
  o.amsgrad = f.boolean("amsgrad", o.amsgrad);
  o.l2 = f.number("l2", o.l2, 0.0, inf, ">= 0");
  o.weight_decay = f.number("weight_decay", o.weight_decay, 0.0, inf, ">= 0");
  return o;
}

// The schedule; `follows_epochs` is set when its horizon is the run's length (a cosine schedule
// without its own "epochs").
LrSchedule parse_schedule(const Json& j, const std::string& source, std::int64_t epochs,
                          bool& follows_epochs) {
  const std::string type =
      probe_type(j, "schedule", source, "constant",
                 {"constant", "step", "exponential", "inverse_time", "cosine"});
  std::vector<std::string> used = {"type"};
  if (type == "step") used.insert(used.end(), {"step_epochs", "gamma"});
  if (type == "exponential") used.push_back("gamma");
  if (type == "inverse_time") used.push_back("decay_rate");
  if (type == "cosine") used.insert(used.end(), {"epochs", "min_factor"});
  used.insert(used.end(), {"warmup_steps", "per_step"});
  check_used_fields(j, "schedule", source, type,
                    {"type", "gamma", "step_epochs", "decay_rate", "epochs", "min_factor",
                     "warmup_steps", "per_step"},
                    used);
  const Fields f(j, "schedule", source, used);
  const double inf = INFINITY;
  LrSchedule s;
  follows_epochs = false;
  if (type == "step") {
    s = LrSchedule::step(f.integer("step_epochs", 1, 1, 1000000),
                         f.number("gamma", 0.1, 1e-300, inf, "> 0"));
  } else if (type == "exponential") {
    s = LrSchedule::exponential(f.number("gamma", 0.9, 1e-300, inf, "> 0"));
  } else if (type == "inverse_time") {
    s = LrSchedule::inverse_time(f.number("decay_rate", 1.0, 0.0, inf, ">= 0"));
  } else if (type == "cosine") {
    follows_epochs = !f.has("epochs");
    s = LrSchedule::cosine(f.integer("epochs", std::max<std::int64_t>(1, epochs), 1, 1000000),
                           f.number("min_factor", 0.0, 0.0, 1.0, "in [0, 1]"));
  }
  s.warmup_steps = f.integer("warmup_steps", 0, 0, std::int64_t{1} << 40);
  s.per_step = f.boolean("per_step", false);
  return s;
}

std::vector<ColumnRef> parse_columns(const Fields& f, const std::string& key) {
  const Json& v = f.at(key);
  auto bad = [&] {
    f.error(key, "expected a non-empty list of column names or indices, got ", v.dump());
  };
  if (!v.is_array() || v.empty()) bad();
  std::vector<ColumnRef> out;
  for (const Json& item : v) {
    if (item.is_string() && !item.get<std::string>().empty()) {
      out.push_back({item.get<std::string>(), 0});
    } else if (item.is_number_integer()) {
      const std::int64_t i = item.get<std::int64_t>();
      if (std::abs(i) > (std::int64_t{1} << 31)) bad();
      out.push_back({"", i});
    } else {
      bad();
    }
  }
  return out;
}

DataSpec parse_data(const Json& j, const std::string& source) {
  if (!j.is_object()) throw SpecError(source + ": data: expected an object, got " + json_type(j));
  std::string format = "idx";
  if (j.contains("format")) {
    Json probe_object = Json::object();
    probe_object["format"] = j.at("format");
    format = Fields(probe_object, "data", source, {"format"})
                 .text("format", "idx", {"idx", "npy", "csv"});
  }
  std::vector<std::string> used = {"format", "dev_size", "train_dev_size", "limit", "normalize"};
  if (format == "csv") {
    used.insert(used.end(), {"train_csv", "dev_csv", "test_csv", "label_column", "label_columns"});
  } else {
    used.insert(used.end(), {"train_features", "train_labels", "dev_features", "dev_labels",
                             "test_features", "test_labels"});
  }
  const std::vector<std::string> all = {
      "format",     "train_features", "train_labels", "dev_features",
      "dev_labels", "test_features",  "test_labels",  "train_csv",
      "dev_csv",    "test_csv",       "label_column", "label_columns",
      "dev_size",   "train_dev_size", "limit",        "normalize"};
  for (const auto& item : j.items()) {
    const bool known = std::find(all.begin(), all.end(), item.key()) != all.end();
    const bool is_used = std::find(used.begin(), used.end(), item.key()) != used.end();
    if (known && !is_used) {
      throw SpecError(source + ": data." + item.key() + ": the " + format +
                      " format does not use " + item.key() + " (its fields: " + join(used, ", ") +
                      ")");
    }
  }
  const Fields f(j, "data", source, used);
  DataSpec d;
  if (format == "idx") d = default_model_spec().data;  // Fashion-MNIST by default
  d.format = format;
  d.train_features = f.text("train_features", d.train_features);
  d.train_labels = f.text("train_labels", d.train_labels);
  d.test_features = f.text("test_features", d.test_features);
  d.test_labels = f.text("test_labels", d.test_labels);
  d.train_csv = f.text("train_csv", d.train_csv);
  d.test_csv = f.text("test_csv", d.test_csv);
  d.dev_features = f.text("dev_features", "");
  d.dev_labels = f.text("dev_labels", "");
  d.dev_csv = f.text("dev_csv", "");
  if (d.dev_features.empty() != d.dev_labels.empty()) {
    f.error(d.dev_features.empty() ? "dev_labels" : "dev_features",
            "give dev_features and dev_labels together");
  }
  d.label_column = f.integer("label_column", -1, -(std::int64_t{1} << 31), std::int64_t{1} << 31);
  if (f.has("label_columns")) {
    if (f.has("label_column")) {
      f.error("label_columns", "give label_column (one column) or label_columns, not both");
    }
    d.label_columns = parse_columns(f, "label_columns");
  }
  // With a dev set of its own, no dev rows are carved from the training file.
  d.dev_size = f.integer("dev_size", d.has_dev_files() ? 0 : 5000, 0, std::int64_t{1} << 40);
  if (d.has_dev_files() && d.dev_size > 0) {
    f.error("dev_size", "the dev set comes from ", d.dev_csv.empty() ? d.dev_features : d.dev_csv,
            ": dev_size (rows carved from the training file) must be 0 or left out");
  }
  d.train_dev_size = f.integer("train_dev_size", 0, 0, std::int64_t{1} << 40);
  d.limit = f.integer("limit", 0, 0, std::int64_t{1} << 40);
  d.normalize = f.boolean("normalize", true);
  if (d.format == "csv" && d.train_csv.empty())
    f.error("train_csv", "missing: the training CSV file");
  if (d.format != "csv" && (d.train_features.empty() || d.train_labels.empty())) {
    f.error("train_features", "missing: the training feature and label files");
  }
  return d;
}

}  // namespace

ModelSpec parse_model_spec(const std::string& text, const std::string& source) {
  // Line and column of a byte offset, for messages.
  auto position = [&](std::size_t byte) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return source + ":" + std::to_string(line) + ":" + std::to_string(column);
  };
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // nlohmann's message after its "[json.exception...] parse error at ...: " prefix.
    std::string what = e.what();
    const std::size_t at = what.find(": ", what.find("parse error"));
    if (at != std::string::npos) what = what.substr(at + 2);
    throw SpecError(position(e.byte == 0 ? 0 : e.byte - 1) + ": malformed JSON: " + what);
  } catch (const Json::out_of_range& e) {
    // A number no double holds (1e999): nlohmann names it as "... parsing '1e999'".
    std::string what = e.what();
    const std::size_t open = what.find('\''), close = what.rfind('\'');
    const std::string token =
        open != std::string::npos && close > open ? what.substr(open + 1, close - open - 1) : "";
    const std::size_t byte = token.empty() ? std::string::npos : text.find(token);
    throw SpecError((byte == std::string::npos ? source : position(byte)) +
                    ": number out of range" + (token.empty() ? "" : ": " + token) +
                    " (the largest a number may be is about 1.8e308)");
  } catch (const Json::exception& e) {
    throw SpecError(source + ": malformed JSON: " + e.what());
  }
  const Fields f(root, "", source,
                 {"task", "layers", "optimizer", "schedule", "clip_norm", "clip_value",
                  "on_nonfinite", "max_skipped", "early_stopping", "diagnostics_every", "search",
                  "batch_size", "epochs", "seed", "device", "data", "freeze", "frozen_batch_norm"});
  ModelSpec spec = default_model_spec();
  const std::string task =
      f.text("task", "classification", {"classification", "multi_label", "regression"});
  spec.task = task == "multi_label"  ? Task::kMultiLabel
              : task == "regression" ? Task::kRegression
                                     : Task::kClassification;
  const double inf = INFINITY;
  // 2^24 rows: far above any batch that fits a device, low enough that buffers sized by it fit.
  spec.batch_size = f.integer("batch_size", spec.batch_size, 1, std::int64_t{1} << 24);
  spec.epochs = f.integer("epochs", spec.epochs, 0, 1000000);
  spec.seed = f.unsigned_integer("seed", 0);
  spec.clip_norm = f.number("clip_norm", 0.0, 0.0, inf, ">= 0 (0: off)");
  spec.clip_value = f.number("clip_value", 0.0, 0.0, inf, ">= 0 (0: off)");
  spec.on_nonfinite = f.text("on_nonfinite", "stop", {"stop", "skip"});
  if (spec.on_nonfinite != "skip" && f.has("max_skipped")) {
    f.error("max_skipped",
            "goes with \"on_nonfinite\": \"skip\" (a run that stops at the "
            "first non-finite step skips none)");
  }
  spec.max_skipped = f.integer("max_skipped", spec.max_skipped, 0, 1000000000);
  if (f.has("search")) {
    if (!f.at("search").is_object()) {
      f.error("search", "expected an object of field paths and ranges, got ",
              json_type(f.at("search")));
    }
    spec.search = f.at("search").dump();
  }
  spec.diagnostics_every = f.integer("diagnostics_every", spec.diagnostics_every, 0, 1000000000);
  if (f.has("early_stopping")) {
    const Fields e(f.at("early_stopping"), "early_stopping", source,
                   {"metric", "patience", "min_delta"});
    std::vector<std::string> metrics = {"dev_loss"};
    for (const std::string& m : task_metrics(spec.task)) metrics.push_back("dev_" + m);
    EarlyStoppingSpec& es = spec.early_stopping;
    es.enabled = true;
    es.metric = e.text("metric", "dev_loss", metrics);
    es.patience = e.integer("patience", es.patience, 1, 1000000);
    es.min_delta = e.number("min_delta", 0.0, 0.0, inf, ">= 0");
  }
  spec.device = f.text("device", "auto");
  if (spec.device != "auto") {
    try {
      parse_device(spec.device);
    } catch (const Error&) {
      f.error("device", "expected auto, cpu, cuda or cuda:N, got '", spec.device, "'");
    }
  }
  if (f.has("layers")) {
    const Json& layers = f.at("layers");
    if (!layers.is_array() || layers.empty()) {
      f.error("layers", "expected a non-empty list of layers, got ", json_type(layers));
    }
    spec.layers.clear();
    for (std::size_t i = 0; i < layers.size(); ++i) {
      spec.layers.push_back(parse_layer(layers[i], "layers[" + std::to_string(i) + "]", source));
    }
  }
  if (f.has("optimizer")) spec.optimizer = parse_optimizer(f.at("optimizer"), source);
  // Without a schedule: the default model's cosine decay, over this spec's epochs.
  spec.horizon_follows_epochs = true;
  spec.schedule = f.has("schedule") ? parse_schedule(f.at("schedule"), source, spec.epochs,
                                                     spec.horizon_follows_epochs)
                                    : LrSchedule::cosine(std::max<std::int64_t>(1, spec.epochs));
  if (f.has("data")) spec.data = parse_data(f.at("data"), source);
  if (f.has("freeze")) {
    const Json& v = f.at("freeze");
    if (!v.is_array()) f.error("freeze", "expected a list of layer indices, got ", v.dump());
    for (const Json& item : v) {
      if (!item.is_number_integer() || item.get<std::int64_t>() < 0 ||
          item.get<std::int64_t>() >= static_cast<std::int64_t>(spec.layers.size())) {
        f.error("freeze", "expected layer indices in [0, ", spec.layers.size(), "), got ",
                item.dump());
      }
      spec.freeze.push_back(item.get<std::int64_t>());
    }
  }
  spec.frozen_batch_norm = f.text("frozen_batch_norm", "eval", {"eval", "train"});
  // Layer sizes must chain: a linear layer's declared input must be the previous width.
  std::int64_t width = 0;  // unknown until the first linear layer
  bool has_linear = false;
  for (std::size_t i = 0; i < spec.layers.size(); ++i) {
    const LayerSpec& l = spec.layers[i];
    if (l.type != "linear") continue;
    if (l.in != 0 && width != 0 && l.in != width) {
      throw SpecError(source + ": layers[" + std::to_string(i) + "].in: " + std::to_string(l.in) +
                      " does not chain: the previous linear layer gives " + std::to_string(width) +
                      " features");
    }
    width = l.out;
    has_linear = true;
  }
  if (!has_linear || spec.layers.back().type != "linear") {
    throw SpecError(source +
                    ": layers: the last layer must be linear (its outputs are the class logits, "
                    "label logits or regression targets)");
  }
  return spec;
}

ModelSpec read_model_spec(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(status)) throw SpecError(path + ": is a directory, not a file");
  // A file or a pipe (a spec written by a shell's process substitution); never a device.
  if (!ec && !std::filesystem::is_regular_file(status) &&
      status.type() != std::filesystem::file_type::fifo) {
    throw SpecError(path + ": not a regular file");
  }
  std::ifstream in(path);
  if (!in) throw SpecError(path + ": cannot open the spec file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_model_spec(text.str(), path);
}

}  // namespace myelin
