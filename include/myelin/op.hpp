#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "myelin/attrs.hpp"
#include "myelin/error.hpp"
#include "myelin/export.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// The op schema: the single description of an op that the graph builder (shape inference),
// the scheduler (forward, autograd) and the tests (gradient checks, backend comparisons) all
// read. Built-in ops are listed by op_table(); a user can define more and add them to a graph
// with Graph::add_node.

enum class Mode { kTrain, kEval };

enum class Backend : int { kCpu = 0, kCuda = 1 };
inline constexpr int kNumBackends = 2;
MYELIN_API const char* backend_name(Backend backend);
MYELIN_API Backend backend_of(Device device);

struct DeviceContext;  // defined by each device backend

struct TensorMeta {
  Shape shape;
  DType dtype = DType::kFloat32;
};

struct InputSpec {
  std::string name;
  bool differentiable = true;  // false for labels, masks, and other inputs that take no gradient
  bool optional = false;       // may be left out (e.g. linear's bias)
};

// An attribute of an op: its name, default (whose type is the attribute's type), a one-line
// description, and the values it accepts. Numbers (integer or real) lie in [min, max], either
// end open; a string is one of `choices` (any string when there are none). Graph::add_node,
// the spec reader and `myelin info` all read these.
struct MYELIN_API AttrSpec {
  AttrSpec() = default;
  // NOLINTNEXTLINE(google-explicit-constructor): op tables list attributes as {name, default}
  AttrSpec(std::string attr_name, AttrValue default_attr, std::string description = "")
      : name(std::move(attr_name)),
        default_value(std::move(default_attr)),
        doc(std::move(description)) {}

  std::string name;
  AttrValue default_value;
  std::string doc;
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_open = false;
  bool max_open = false;
  std::vector<std::string> choices;

  AttrSpec at_least(double lo) const;
  AttrSpec above(double lo) const;
  AttrSpec at_most(double hi) const;
  AttrSpec below(double hi) const;
  AttrSpec one_of(std::vector<std::string> values) const;

  // Whether `value` (already of the attribute's type) is accepted.
  bool accepts(const AttrValue& value) const;
  // What is accepted: "a number in [0, 1)", "an integer >= 1", "one of none, tanh", "a number".
  std::string expected() const;
};

// Shape inference for one node. The engine fills the inputs and attributes; infer() checks
// them and declares outputs and the tensors the forward pass saves for the backward pass.
struct MYELIN_API InferCtx {
  std::string node_name;
  std::string op_name;
  const Attrs* attrs = nullptr;
  std::vector<TensorMeta> inputs;  // a left-out optional input has present[i] == false
  std::vector<bool> present;
  std::vector<std::string> slot_names;   // the op's names for its inputs ("x", "weight")
  std::vector<std::string> input_names;  // the names of the values feeding them
  std::vector<TensorMeta> state;
  std::vector<TensorMeta> outputs;
  std::vector<TensorMeta> saved;

  bool has_input(int i) const { return present[static_cast<std::size_t>(i)]; }
  const TensorMeta& input(int i) const { return inputs[static_cast<std::size_t>(i)]; }
  const Shape& shape(int i) const { return input(i).shape; }
  // "x 'fc1' [64, 32] float32", for error messages.
  std::string describe_input(int i) const;

  // Throws myelin::Error "node 'NAME' (OP): <parts...>".
  template <typename... Args>
  [[noreturn]] void fail(const Args&... parts) const {
    fail_message(detail::concat(parts...));
  }
  [[noreturn]] void fail_message(const std::string& message) const;

  // Common checks, each failing with a message naming the input.
  void expect_floating(int i) const;
  void expect_rank(int i, int min_rank, int max_rank) const;
  void expect_same_shape(int i, int j) const;
  void expect_integer_labels(int i) const;  // int32 or int64

  void set_output(int i, const Shape& shape, DType dtype);
  void add_saved(const Shape& shape, DType dtype);
};

// What a backend implementation of an op sees, forward and backward.
struct MYELIN_API OpContext {
  const std::string* node_name = nullptr;
  const std::string* op_name = nullptr;
  const Attrs* attrs = nullptr;
  std::uint32_t node_id = 0;  // stable id of the node (hash of its name): a Philox stream
  Mode mode = Mode::kTrain;
  std::uint64_t step = 0;  // passed explicitly by the caller, read by dropout
  std::uint64_t seed = 0;
  // The backend's execution state (on CUDA: device, stream, cuBLAS handles, device scalars);
  // null on the CPU.
  DeviceContext* device = nullptr;

  std::vector<const Tensor*> inputs;  // nullptr for a left-out optional input
  std::vector<Tensor*> outputs;
  std::vector<Tensor*> saved;
  std::vector<Tensor*> state;
  // Backward only. grad_outputs are never null there (zeros when no gradient reached an
  // output); grad_inputs[i] is null when input i needs no gradient. A backward overwrites the
  // gradients it writes: the scheduler accumulates where a value fans out.
  std::vector<const Tensor*> grad_outputs;
  std::vector<Tensor*> grad_inputs;

  const Tensor& input(int i) const { return *inputs[static_cast<std::size_t>(i)]; }
  bool has_input(int i) const { return inputs[static_cast<std::size_t>(i)] != nullptr; }
  Tensor& output(int i) const { return *outputs[static_cast<std::size_t>(i)]; }
  Tensor& saved_tensor(int i) const { return *saved[static_cast<std::size_t>(i)]; }
  Tensor& state_tensor(int i) const { return *state[static_cast<std::size_t>(i)]; }
  const Tensor& grad_output(int i) const { return *grad_outputs[static_cast<std::size_t>(i)]; }
  Tensor* grad_input(int i) const { return grad_inputs[static_cast<std::size_t>(i)]; }

  template <typename... Args>
  [[noreturn]] void fail(const Args&... parts) const {
    fail_message(detail::concat(parts...));
  }
  [[noreturn]] void fail_message(const std::string& message) const;
};

using KernelFn = std::function<void(const OpContext&)>;

struct OpImpl {
  KernelFn forward;
  KernelFn backward;
  bool available() const { return forward != nullptr && backward != nullptr; }
};

// Points where an op's output is not differentiable in input `input` (relu at 0). The
// gradient checker skips an element when perturbing it moves such an input across one.
struct KinkSpec {
  int input = -1;  // -1: the op is smooth
  std::function<std::vector<double>(const Attrs&)> points;
};

struct MYELIN_API OpDef {
  std::string name;
  std::string summary;  // one line, for `myelin info` and the README
  std::vector<InputSpec> inputs;
  std::vector<std::string> outputs{"y"};
  std::vector<AttrSpec> attrs;
  std::vector<std::string> state;  // mutable state slots, e.g. batch norm's running statistics
  std::function<void(InferCtx&)> infer;
  std::array<OpImpl, kNumBackends> impls{};
  // The kernels the CUDA implementation launches (names of __global__ functions), or library
  // routines as "library:<name>"; a test checks that each kernel is compiled into libmyelin.so.
  std::vector<std::string> cuda_kernels;
  KinkSpec kink;
  // The backward may write the gradient of input 0 into the memory of the gradient of output 0:
  // it reads each element of the latter before writing the same element of the former, and
  // no other (elementwise ops). The memory plan then gives both the same memory.
  bool backward_in_place = false;

  const OpImpl& impl(Backend backend) const { return impls[static_cast<std::size_t>(backend)]; }
  int input_index(const std::string& input_name) const;  // -1 when absent
  // The index of an attribute in `attrs`; throws myelin::Error when the op has none of that name.
  std::size_t attr_index(const std::string& attr_name) const;
};

// Every built-in op, in a fixed order.
MYELIN_API const std::vector<const OpDef*>& op_table();
// The built-in op of that name; throws myelin::Error suggesting the closest name otherwise.
MYELIN_API const OpDef& find_op(const std::string& name);

}  // namespace myelin
