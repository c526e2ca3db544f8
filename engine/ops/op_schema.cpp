// The parts of the op schema every op shares: inference helpers, kernel-context errors, and
// the lookup of built-in ops.
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

int OpDef::input_index(const std::string& input_name) const {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name == input_name) return static_cast<int>(i);
  }
  return -1;
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
