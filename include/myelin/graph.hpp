#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "myelin/attrs.hpp"
#include "myelin/export.hpp"
#include "myelin/init.hpp"
#include "myelin/op.hpp"
#include "myelin/tensor.hpp"

namespace myelin {

// A handle to a value of a graph: an input, a parameter, a buffer (mutable state) or an
// output of a node.
struct Value {
  std::int32_t id = -1;
  bool valid() const { return id >= 0; }
  friend bool operator==(Value a, Value b) { return a.id == b.id; }
  friend bool operator!=(Value a, Value b) { return a.id != b.id; }
  friend bool operator<(Value a, Value b) { return a.id < b.id; }
};

enum class ValueKind { kInput, kParameter, kBuffer, kNodeOutput };

// What kind of tensor a parameter is: optimizers and regularisers use it for defaults (no
// weight decay on biases and normalisation parameters).
enum class ParamRole { kWeight, kBias, kNorm };

struct ParamOptions {
  bool frozen = false;  // no gradient, never updated (transfer learning)
  std::string group;    // empty: "weights" for kWeight, "no_decay" for kBias and kNorm
  ParamRole role = ParamRole::kWeight;
};

struct LinearOptions {
  bool bias = true;
  std::optional<Init> weight_init;  // default: Init::linear_default(), U(+-1/sqrt(in)) as nn.Linear
  std::optional<Init> bias_init;    // default: U(+-1/sqrt(in)) as nn.Linear
};

struct BatchNormOptions {
  double momentum = 0.1;  // weight of each batch in the running statistics
  double eps = 1e-5;      // added to the variance
};

// gelu's two forms: exact (with erf) or the tanh approximation.
enum class GeluApproximation { kNone, kTanh };

struct ValueInfo {
  std::string name;
  ValueKind kind = ValueKind::kInput;
  TensorMeta meta;    // declared shape and type (an input's first dimension may vary at run time)
  int producer = -1;  // node index, for node outputs
  int output_index = 0;
  // Parameters and buffers.
  Tensor tensor;
  bool frozen = false;
  std::string group;
  ParamRole role = ParamRole::kWeight;
};

struct Node {
  std::string name;
  const OpDef* op = nullptr;
  Attrs attrs;                // complete: defaults filled in
  std::vector<Value> inputs;  // invalid for a left-out optional input
  std::vector<Value> state;
  std::vector<Value> outputs;
  std::uint32_t id = 0;  // stable_id(name)
  // Runs as in eval mode even while the graph trains, forward and backward: a frozen layer's
  // batch norm normalises with its running statistics and keeps them (as module.eval() in
  // PyTorch). Set with Graph::set_eval_mode.
  bool eval_mode = false;
};

// A model graph. Shapes are inferred as nodes are added; a mismatch throws myelin::Error naming
// the node and both shapes. Parameters and buffers hold their host tensors here: the graph is
// the model that executors run and optimizers update.
class MYELIN_API Graph {
 public:
  // `seed` drives the default initialisation of layers and dropout masks.
  explicit Graph(std::uint64_t seed = 0);
  std::uint64_t seed() const { return seed_; }

  // --- Values -------------------------------------------------------------------------------
  // An input. Its first dimension is the batch and may change from run to run.
  Value input(const std::string& name, const Shape& shape, DType dtype = DType::kFloat32);
  Value parameter(const std::string& name, const Tensor& init, const ParamOptions& options = {});
  Value buffer(const std::string& name, const Tensor& init);

  // --- Nodes --------------------------------------------------------------------------------
  // Adds a node of any op (built-in or user-defined). `inputs` follow op.inputs (an invalid
  // Value leaves out an optional input); attributes not given take the op's defaults; an
  // unknown attribute or a wrong type throws. Returns the node's outputs.
  std::vector<Value> add_node(const OpDef& op, const std::vector<Value>& inputs,
                              const Attrs& attrs = {}, const std::vector<Value>& state = {},
                              const std::string& name = "");
  // A single-output node of the built-in op `op_name`.
  Value op(const std::string& op_name, const std::vector<Value>& inputs, const Attrs& attrs = {},
           const std::string& name = "");

  // Built-in ops by name, with PyTorch's defaults (the op table's; a test holds them equal). Every
  // builder takes its inputs, then its attributes, then the node's name (empty: generated). Ops
  // without a builder here are added with op(name, inputs, attrs).
  Value linear(Value x, Value weight, Value bias = {}, const std::string& name = "");
  Value identity(Value x, const std::string& name = "");
  Value relu(Value x, const std::string& name = "");
  Value leaky_relu(Value x, double negative_slope = 0.01, const std::string& name = "");
  Value sigmoid(Value x, const std::string& name = "");
  Value tanh(Value x, const std::string& name = "");
  Value elu(Value x, double alpha = 1.0, const std::string& name = "");
  Value abs(Value x, const std::string& name = "");
  Value gelu(Value x, GeluApproximation approximate = GeluApproximation::kNone,
             const std::string& name = "");
  Value silu(Value x, const std::string& name = "");
  Value softplus(Value x, double beta = 1.0, double threshold = 20.0, const std::string& name = "");
  Value softmax(Value x, const std::string& name = "");
  Value log_softmax(Value x, const std::string& name = "");
  Value batch_norm(Value x, Value weight, Value bias, Value running_mean, Value running_var,
                   Value num_batches_tracked, double momentum = 0.1, double eps = 1e-5,
                   const std::string& name = "");
  Value dropout(Value x, double p = 0.5, const std::string& name = "");
  Value add(Value a, Value b, const std::string& name = "");
  Value reshape(Value x, const std::vector<std::int64_t>& shape, const std::string& name = "");
  Value flatten(Value x, std::int64_t start_dim = 1, const std::string& name = "");
  Value softmax_cross_entropy(Value logits, Value labels, std::int64_t ignore_index = -100,
                              const std::string& name = "");
  Value bce_with_logits(Value logits, Value targets, Value mask = {}, const std::string& name = "");
  Value mse_loss(Value input, Value target, const std::string& name = "");

  // Layers: create their parameters (named "<name>.weight", "<name>.bias", ...) with
  // PyTorch's default initialisation, drawn from the graph's seed, and add the op. An empty name
  // is generated ("linear_0"), as for any node.
  Value linear_layer(Value x, std::int64_t out_features, const LinearOptions& options = {},
                     const std::string& name = "");
  Value batch_norm_layer(Value x, const BatchNormOptions& options = {},
                         const std::string& name = "");

  // --- Inspection ---------------------------------------------------------------------------
  const ValueInfo& info(Value v) const;
  ValueInfo& info(Value v);
  const std::string& name(Value v) const { return info(v).name; }
  const Shape& shape(Value v) const { return info(v).meta.shape; }
  // The value of that name; throws (suggesting the closest name) when there is none.
  Value find(const std::string& name) const;
  bool contains(const std::string& name) const;
  int num_values() const { return static_cast<int>(values_.size()); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(int index) const;
  std::vector<Value> inputs() const;
  std::vector<Value> parameters() const;
  std::vector<Value> buffers() const;

  // Host tensor of a parameter or buffer.
  Tensor& tensor(Value param_or_buffer);
  const Tensor& tensor(Value param_or_buffer) const;
  // Redraws a parameter from `init` with the graph's seed and the parameter's Philox stream.
  void initialize(Value param, const Init& init);
  void set_frozen(Value param, bool frozen);
  void set_group(Value param, const std::string& group);
  // Freezes every parameter whose name starts with `prefix` (e.g. a layer's name + ".").
  int freeze_prefix(const std::string& prefix);
  // Makes the node of that name run in eval mode when the graph trains (see Node::eval_mode).
  void set_eval_mode(const std::string& node_name, bool eval_mode);

  // A readable listing of values and nodes.
  std::string str() const;

 private:
  Value add_value(ValueInfo info);
  std::string unique_node_name(const std::string& requested, const std::string& op_name);
  void check_value(Value v, const char* what) const;

  std::uint64_t seed_;
  std::vector<ValueInfo> values_;
  std::vector<Node> nodes_;
  std::map<std::string, int> value_by_name_;
  std::map<std::string, int> node_by_name_;
  std::map<std::string, int> auto_name_counter_;
};

}  // namespace myelin
