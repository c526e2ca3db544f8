// The parts of the op schema every op shares: inference helpers, kernel-context errors, and
// the lookup of built-in ops.
#include <cmath>
#include <sstream>
#include <string>

#include "myelin/op.hpp"
#include "util/strings.hpp"

namespace myelin {

const char* backend_name(Backend backend) {
  return backend == Backend::kCpu ? "cpu" : "cuda";
}

Backend backend_of(Device device) {
  return device.is_cpu() ? Backend::kCpu : Backend::kCuda;
}

std::string InferCtx::describe_input(int i) const {
  const auto k = static_cast<std::size_t>(i);
  std::string out = k < slot_names.size() ? slot_names[k] : "input " + std::to_string(i);
  if (!has_input(i)) return out + " (absent)";
  if (k < input_names.size()) out += " '" + input_names[k] + "'";
  return out + " " + inputs[k].shape.str() + " " + dtype_name(inputs[k].dtype);
}

void InferCtx::fail_message(const std::string& message) const {
  throw Error("node '" + node_name + "' (" + op_name + "): " + message);
}

void InferCtx::expect_floating(int i) const {
  if (!is_floating(input(i).dtype)) {
    fail(describe_input(i), " must be floating point (float32 or float64)");
  }
}

void InferCtx::expect_rank(int i, int min_rank, int max_rank) const {
  const int r = shape(i).rank();
  if (r < min_rank || r > max_rank) {
    if (min_rank == max_rank) fail(describe_input(i), " must have rank ", min_rank);
    fail(describe_input(i), " must have rank ", min_rank, " to ", max_rank);
  }
}

void InferCtx::expect_same_shape(int i, int j) const {
  if (shape(i) != shape(j)) {
    fail("shapes differ: ", describe_input(i), " and ", describe_input(j));
  }
}

void InferCtx::expect_integer_labels(int i) const {
  const DType t = input(i).dtype;
  if (t != DType::kInt32 && t != DType::kInt64) {
    fail(describe_input(i), " must hold integer class labels (int32 or int64)");
  }
}

void InferCtx::set_output(int i, const Shape& shape, DType dtype) {
  const auto k = static_cast<std::size_t>(i);
  if (outputs.size() <= k) outputs.resize(k + 1);
  outputs[k] = TensorMeta{shape, dtype};
}

void InferCtx::add_saved(const Shape& shape, DType dtype) {
  saved.push_back(TensorMeta{shape, dtype});
}

void OpContext::fail_message(const std::string& message) const {
  throw Error("node '" + (node_name ? *node_name : std::string("?")) + "' (" +
              (op_name ? *op_name : std::string("?")) + "): " + message);
}

AttrSpec AttrSpec::at_least(double lo) const {
  AttrSpec a = *this;
  a.min = lo;
  a.min_open = false;
  return a;
}

AttrSpec AttrSpec::above(double lo) const {
  AttrSpec a = *this;
  a.min = lo;
  a.min_open = true;
  return a;
}

AttrSpec AttrSpec::at_most(double hi) const {
  AttrSpec a = *this;
  a.max = hi;
  a.max_open = false;
  return a;
}

AttrSpec AttrSpec::below(double hi) const {
  AttrSpec a = *this;
  a.max = hi;
  a.max_open = true;
  return a;
}

AttrSpec AttrSpec::one_of(std::vector<std::string> values) const {
  AttrSpec a = *this;
  a.choices = std::move(values);
  return a;
}

bool AttrSpec::accepts(const AttrValue& value) const {
  auto in_range = [&](double x) {
    if (std::isnan(x)) return false;
    const bool lo_ok = min_open ? x > min : x >= min;
    const bool hi_ok = max_open ? x < max : x <= max;
    return lo_ok && hi_ok;
  };
  if (const auto* d = std::get_if<double>(&value)) return in_range(*d);
  if (const auto* i = std::get_if<std::int64_t>(&value)) {
    return in_range(static_cast<double>(*i));
  }
  if (const auto* s = std::get_if<std::string>(&value)) {
    if (choices.empty()) return true;
    for (const std::string& c : choices) {
      if (c == *s) return true;
    }
    return false;
  }
  return true;
}

std::string AttrSpec::expected() const {
  const bool integer = std::holds_alternative<std::int64_t>(default_value);
  const bool number = integer || std::holds_alternative<double>(default_value);
  if (!number) {
    if (!choices.empty()) return "one of " + join(choices, ", ");
    return std::string("a ") + attr_type_name(default_value);
  }
  auto text = [&](double x) {
    if (integer) return std::to_string(static_cast<std::int64_t>(x));
    std::ostringstream out;
    out << x;
    return out.str();
  };
  const std::string kind = integer ? "an integer" : "a number";
  const bool has_lo = std::isfinite(min), has_hi = std::isfinite(max);
  if (has_lo && has_hi) {
    return kind + " in " + (min_open ? "(" : "[") + text(min) + ", " + text(max) +
           (max_open ? ")" : "]");
  }
  if (has_lo) return kind + (min_open ? " > " : " >= ") + text(min);
  if (has_hi) return kind + (max_open ? " < " : " <= ") + text(max);
  return kind;
}

int OpDef::input_index(const std::string& input_name) const {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name == input_name) return static_cast<int>(i);
  }
  return -1;
}

std::size_t OpDef::attr_index(const std::string& attr_name) const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (attrs[i].name == attr_name) return i;
    names.push_back(attrs[i].name);
  }
  throw Error("op '" + name + "' has no attribute '" + attr_name + "'" +
              did_you_mean(attr_name, names));
}

const OpDef& find_op(const std::string& name) {
  std::vector<std::string> names;
  for (const OpDef* op : op_table()) {
    if (op->name == name) return *op;
    names.push_back(op->name);
  }
  throw Error("unknown op '" + name + "'" + did_you_mean(name, names));
}

}  // namespace myelin
