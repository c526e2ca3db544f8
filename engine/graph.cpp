#include "myelin/graph.hpp"

#include <cmath>
#include <sstream>

#include "myelin/error.hpp"
#include "myelin/philox.hpp"
#include "util/strings.hpp"

namespace myelin {

namespace {

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kInput:
      return "input";
    case ValueKind::kParameter:
      return "parameter";
    case ValueKind::kBuffer:
      return "buffer";
    case ValueKind::kNodeOutput:
      return "node output";
  }
  return "?";
}

// Fills in defaults, rejects unknown attributes (suggesting the closest) and wrong types.
Attrs complete_attrs(const OpDef& op, const Attrs& given, const std::string& node_name) {
  std::vector<std::string> known;
  for (const AttrSpec& spec : op.attrs) known.push_back(spec.name);
  for (const auto& [name, value] : given.items()) {
    const AttrSpec* spec = nullptr;
    for (const AttrSpec& s : op.attrs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      fail("node '", node_name, "' (", op.name, "): unknown attribute '", name, "'",
           did_you_mean(name, known),
           known.empty() ? std::string(": this op takes no attributes") : std::string());
    }
    const bool int_for_real = value.index() == 0 && spec->default_value.index() == 1;
    if (value.index() != spec->default_value.index() && !int_for_real) {
      fail("node '", node_name, "' (", op.name, "): attribute '", name, "' must be a ",
           attr_type_name(spec->default_value), ", got a ", attr_type_name(value), " (",
           attr_to_string(value), ")");
    }
  }
  Attrs out;
  for (const AttrSpec& spec : op.attrs) {
    if (given.has(spec.name)) {
      AttrValue v = given.get(spec.name);
      if (v.index() == 0 && spec.default_value.index() == 1) {
        v = static_cast<double>(std::get<std::int64_t>(v));
      }
      if (!spec.accepts(v)) {
        fail("node '", node_name, "' (", op.name, "): attribute '", spec.name, "' must be ",
             spec.expected(), ", got ", attr_to_string(v));
      }
      out.set(spec.name, v);
    } else {
      out.set(spec.name, spec.default_value);
    }
  }
  return out;
}

}  // namespace

Graph::Graph(std::uint64_t seed) : seed_(seed) {}

void Graph::check_value(Value v, const char* what) const {
  if (v.id < 0 || v.id >= num_values()) {
    fail(what, ": value id ", v.id, " does not belong to this graph (it has ", num_values(),
         " values)");
  }
}

const ValueInfo& Graph::info(Value v) const {
  check_value(v, "Graph::info");
  return values_[static_cast<std::size_t>(v.id)];
}

ValueInfo& Graph::info(Value v) {
  check_value(v, "Graph::info");
  return values_[static_cast<std::size_t>(v.id)];
}

Value Graph::add_value(ValueInfo value) {
  if (value.name.empty()) fail("a ", kind_name(value.kind), " needs a name");
  if (value_by_name_.count(value.name) != 0) {
    fail("the name '", value.name, "' is already used by a ",
         kind_name(values_[static_cast<std::size_t>(value_by_name_[value.name])].kind),
         " of this graph");
  }
  const Value v{static_cast<std::int32_t>(values_.size())};
  value_by_name_[value.name] = v.id;
  values_.push_back(std::move(value));
  return v;
}

Value Graph::input(const std::string& name, const Shape& shape, DType dtype) {
  ValueInfo v;
  v.name = name;
  v.kind = ValueKind::kInput;
  v.meta = {shape, dtype};
  return add_value(std::move(v));
}

Value Graph::parameter(const std::string& name, const Tensor& init, const ParamOptions& options) {
  if (!init.defined()) fail("parameter '", name, "': the initial tensor is undefined");
  if (!is_floating(init.dtype())) {
    fail("parameter '", name, "' must be floating point, got ", dtype_name(init.dtype()));
  }
  ValueInfo v;
  v.name = name;
  v.kind = ValueKind::kParameter;
  v.meta = {init.shape(), init.dtype()};
  v.tensor = init.to(Device::cpu());
  v.frozen = options.frozen;
  v.role = options.role;
  v.group = !options.group.empty()               ? options.group
            : options.role == ParamRole::kWeight ? "weights"
                                                 : "no_decay";
  return add_value(std::move(v));
}

Value Graph::buffer(const std::string& name, const Tensor& init) {
  if (!init.defined()) fail("buffer '", name, "': the initial tensor is undefined");
  ValueInfo v;
  v.name = name;
  v.kind = ValueKind::kBuffer;
  v.meta = {init.shape(), init.dtype()};
  v.tensor = init.to(Device::cpu());
  return add_value(std::move(v));
}

std::string Graph::unique_node_name(const std::string& requested, const std::string& op_name) {
  if (!requested.empty()) {
    if (node_by_name_.count(requested) != 0) fail("node name '", requested, "' is already used");
    return requested;
  }
  for (;;) {
    const std::string candidate = op_name + "_" + std::to_string(auto_name_counter_[op_name]++);
    if (node_by_name_.count(candidate) == 0 && value_by_name_.count(candidate) == 0) {
      return candidate;
    }
  }
}

std::vector<Value> Graph::add_node(const OpDef& op, const std::vector<Value>& inputs,
                                   const Attrs& attrs, const std::vector<Value>& state,
                                   const std::string& name) {
  const std::string node_name = unique_node_name(name, op.name);
  if (inputs.size() > op.inputs.size()) {
    fail("node '", node_name, "' (", op.name, "): takes at most ", op.inputs.size(),
         " inputs, got ", inputs.size());
  }
  if (state.size() != op.state.size()) {
    fail("node '", node_name, "' (", op.name, "): needs ", op.state.size(), " state tensors, got ",
         state.size());
  }

  InferCtx ctx;
  ctx.node_name = node_name;
  ctx.op_name = op.name;
  Attrs full = complete_attrs(op, attrs, node_name);
  ctx.attrs = &full;
  std::vector<Value> bound(op.inputs.size());
  for (std::size_t i = 0; i < op.inputs.size(); ++i) {
    const Value v = i < inputs.size() ? inputs[i] : Value{};
    bound[i] = v;
    if (!v.valid()) {
      if (!op.inputs[i].optional) {
        fail("node '", node_name, "' (", op.name, "): input '", op.inputs[i].name, "' is required");
      }
      ctx.inputs.push_back({});
      ctx.present.push_back(false);
      ctx.slot_names.push_back(op.inputs[i].name);
      ctx.input_names.push_back("");
      continue;
    }
    check_value(v, ("node '" + node_name + "'").c_str());
    const ValueInfo& vi = values_[static_cast<std::size_t>(v.id)];
    ctx.inputs.push_back(vi.meta);
    ctx.present.push_back(true);
    ctx.slot_names.push_back(op.inputs[i].name);
    ctx.input_names.push_back(vi.name);
  }
  for (std::size_t s = 0; s < state.size(); ++s) {
    check_value(state[s], ("node '" + node_name + "'").c_str());
    const ValueInfo& vi = values_[static_cast<std::size_t>(state[s].id)];
    if (vi.kind != ValueKind::kBuffer) {
      fail("node '", node_name, "' (", op.name, "): state '", op.state[s], "' must be a buffer, '",
           vi.name, "' is a ", kind_name(vi.kind));
    }
    ctx.state.push_back(vi.meta);
  }
  // Executors compute every floating value in one type of their choosing, so the graph treats
  // floating types as one: a float32 input may meet a float64 parameter.
  DType floating = DType::kFloat32;
  for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (ctx.present[i] && is_floating(ctx.inputs[i].dtype)) {
      floating = ctx.inputs[i].dtype;
      break;
    }
  }
  for (std::size_t i = 0; i < ctx.inputs.size(); ++i) {
    if (ctx.present[i] && is_floating(ctx.inputs[i].dtype)) ctx.inputs[i].dtype = floating;
  }
  for (TensorMeta& m : ctx.state) {
    if (is_floating(m.dtype)) m.dtype = floating;
  }
  op.infer(ctx);
  if (ctx.outputs.size() != op.outputs.size()) {
    fail("node '", node_name, "' (", op.name, "): shape inference declared ", ctx.outputs.size(),
         " outputs, the op has ", op.outputs.size());
  }

  Node node;
  node.name = node_name;
  node.op = &op;
  node.attrs = std::move(full);
  node.inputs = bound;
  node.state = state;
  node.id = stable_id(node_name.c_str());
  const int node_index = static_cast<int>(nodes_.size());
  for (std::size_t o = 0; o < ctx.outputs.size(); ++o) {
    ValueInfo v;
    v.name = op.outputs.size() == 1 ? node_name : node_name + "." + op.outputs[o];
    v.kind = ValueKind::kNodeOutput;
    v.meta = ctx.outputs[o];
    v.producer = node_index;
    v.output_index = static_cast<int>(o);
    node.outputs.push_back(add_value(std::move(v)));
  }
  node_by_name_[node_name] = node_index;
  nodes_.push_back(std::move(node));
  return nodes_.back().outputs;
}

Value Graph::op(const std::string& op_name, const std::vector<Value>& inputs, const Attrs& attrs,
                const std::string& name) {
  const OpDef& def = find_op(op_name);
  if (def.outputs.size() != 1) {
    fail("op '", op_name, "' has ", def.outputs.size(), " outputs: use add_node");
  }
  return add_node(def, inputs, attrs, {}, name)[0];
}

Value Graph::linear(Value x, Value weight, Value bias, const std::string& name) {
  return op("linear", {x, weight, bias}, {}, name);
}
Value Graph::identity(Value x, const std::string& name) {
  return op("identity", {x}, {}, name);
}
Value Graph::relu(Value x, const std::string& name) {
  return op("relu", {x}, {}, name);
}
Value Graph::leaky_relu(Value x, double negative_slope, const std::string& name) {
  return op("leaky_relu", {x}, {{"negative_slope", negative_slope}}, name);
}
Value Graph::sigmoid(Value x, const std::string& name) {
  return op("sigmoid", {x}, {}, name);
}
Value Graph::tanh(Value x, const std::string& name) {
  return op("tanh", {x}, {}, name);
}
Value Graph::elu(Value x, double alpha, const std::string& name) {
  return op("elu", {x}, {{"alpha", alpha}}, name);
}
Value Graph::abs(Value x, const std::string& name) {
  return op("abs", {x}, {}, name);
}
Value Graph::gelu(Value x, GeluApproximation approximate, const std::string& name) {
  const char* form = approximate == GeluApproximation::kTanh ? "tanh" : "none";
  return op("gelu", {x}, {{"approximate", std::string(form)}}, name);
}
Value Graph::silu(Value x, const std::string& name) {
  return op("silu", {x}, {}, name);
}
Value Graph::softplus(Value x, double beta, double threshold, const std::string& name) {
  return op("softplus", {x}, {{"beta", beta}, {"threshold", threshold}}, name);
}
Value Graph::softmax(Value x, const std::string& name) {
  return op("softmax", {x}, {}, name);
}
Value Graph::log_softmax(Value x, const std::string& name) {
  return op("log_softmax", {x}, {}, name);
}
Value Graph::batch_norm(Value x, Value weight, Value bias, Value running_mean, Value running_var,
                        Value num_batches_tracked, double momentum, double eps,
                        const std::string& name) {
  return add_node(find_op("batch_norm"), {x, weight, bias}, {{"momentum", momentum}, {"eps", eps}},
                  {running_mean, running_var, num_batches_tracked}, name)[0];
}
Value Graph::dropout(Value x, double p, const std::string& name) {
  return op("dropout", {x}, {{"p", p}}, name);
}
Value Graph::add(Value a, Value b, const std::string& name) {
  return op("add", {a, b}, {}, name);
}
Value Graph::reshape(Value x, const std::vector<std::int64_t>& shape, const std::string& name) {
  return op("reshape", {x}, {{"shape", shape}}, name);
}
Value Graph::flatten(Value x, std::int64_t start_dim, const std::string& name) {
  return op("flatten", {x}, {{"start_dim", start_dim}}, name);
}
Value Graph::softmax_cross_entropy(Value logits, Value labels, std::int64_t ignore_index,
                                   const std::string& name) {
  return op("softmax_cross_entropy", {logits, labels}, {{"ignore_index", ignore_index}}, name);
}
Value Graph::bce_with_logits(Value logits, Value targets, Value mask, const std::string& name) {
  return op("bce_with_logits", {logits, targets, mask}, {}, name);
}
Value Graph::mse_loss(Value input, Value target, const std::string& name) {
  return op("mse_loss", {input, target}, {}, name);
}

Value Graph::linear_layer(Value x, std::int64_t out_features, const LinearOptions& options,
                          const std::string& requested_name) {
  const std::string name = unique_node_name(requested_name, "linear");
  check_value(x, ("linear layer '" + name + "'").c_str());
  const Shape& xs = shape(x);
  if (xs.rank() < 1) fail("linear layer '", name, "': input '", this->name(x), "' is a scalar");
  if (out_features <= 0) {
    fail("linear layer '", name, "': out_features must be positive, got ", out_features);
  }
  const std::int64_t in = xs.dim(-1);
  const DType t = info(x).meta.dtype;
  auto make = [&](const std::string& pname, const Shape& s, const Init& init) {
    Tensor tensor = Tensor::empty(s, t);
    myelin::initialize(tensor, init, seed_, stable_id(pname.c_str()));
    return tensor;
  };
  const Value w = parameter(name + ".weight",
                            make(name + ".weight", Shape{out_features, in},
                                 options.weight_init.value_or(Init::linear_default())),
                            {false, "", ParamRole::kWeight});
  Value b;
  if (options.bias) {
    const double bound = in > 0 ? 1.0 / std::sqrt(static_cast<double>(in)) : 0.0;
    b = parameter(name + ".bias",
                  make(name + ".bias", Shape{out_features},
                       options.bias_init.value_or(Init::uniform(-bound, bound))),
                  {false, "", ParamRole::kBias});
  }
  return linear(x, w, b, name);
}

Value Graph::batch_norm_layer(Value x, const BatchNormOptions& options,
                              const std::string& requested_name) {
  const std::string name = unique_node_name(requested_name, "batch_norm");
  check_value(x, ("batch norm layer '" + name + "'").c_str());
  const Shape& xs = shape(x);
  if (xs.rank() < 2) {
    fail("batch norm layer '", name, "': input '", this->name(x), "' ", xs.str(),
         " needs a batch and a channel dimension");
  }
  const DType t = info(x).meta.dtype;
  const Shape c{xs[1]};
  const Value w =
      parameter(name + ".weight", Tensor::full(c, 1.0, t), {false, "", ParamRole::kNorm});
  const Value b = parameter(name + ".bias", Tensor::zeros(c, t), {false, "", ParamRole::kNorm});
  const Value mean = buffer(name + ".running_mean", Tensor::zeros(c, t));
  const Value var = buffer(name + ".running_var", Tensor::full(c, 1.0, t));
  const Value count = buffer(name + ".num_batches_tracked", Tensor::zeros(Shape{}, DType::kInt64));
  return batch_norm(x, w, b, mean, var, count, options.momentum, options.eps, name);
}

Value Graph::find(const std::string& name) const {
  auto it = value_by_name_.find(name);
  if (it != value_by_name_.end()) return Value{it->second};
  std::vector<std::string> names;
  for (const ValueInfo& v : values_) names.push_back(v.name);
  fail("no value named '", name, "' in the graph", did_you_mean(name, names));
}

bool Graph::contains(const std::string& name) const {
  return value_by_name_.count(name) != 0;
}

const Node& Graph::node(int index) const {
  if (index < 0 || index >= static_cast<int>(nodes_.size())) {
    fail("node index ", index, " is out of range (", nodes_.size(), " nodes)");
  }
  return nodes_[static_cast<std::size_t>(index)];
}

namespace {
std::vector<Value> values_of_kind(const std::vector<ValueInfo>& values, ValueKind kind) {
  std::vector<Value> out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i].kind == kind) out.push_back(Value{static_cast<std::int32_t>(i)});
  }
  return out;
}
}  // namespace

std::vector<Value> Graph::inputs() const {
  return values_of_kind(values_, ValueKind::kInput);
}
std::vector<Value> Graph::parameters() const {
  return values_of_kind(values_, ValueKind::kParameter);
}
std::vector<Value> Graph::buffers() const {
  return values_of_kind(values_, ValueKind::kBuffer);
}

Tensor& Graph::tensor(Value v) {
  ValueInfo& vi = info(v);
  if (vi.kind != ValueKind::kParameter && vi.kind != ValueKind::kBuffer) {
    fail("'", vi.name, "' is a ", kind_name(vi.kind), ", not a parameter or buffer");
  }
  return vi.tensor;
}

const Tensor& Graph::tensor(Value v) const {
  return const_cast<Graph*>(this)->tensor(v);
}

void Graph::initialize(Value param, const Init& init) {
  ValueInfo& vi = info(param);
  if (vi.kind != ValueKind::kParameter) fail("'", vi.name, "' is not a parameter");
  myelin::initialize(vi.tensor, init, seed_, stable_id(vi.name.c_str()));
}

void Graph::set_frozen(Value param, bool frozen) {
  ValueInfo& vi = info(param);
  if (vi.kind != ValueKind::kParameter) fail("'", vi.name, "' is not a parameter");
  vi.frozen = frozen;
}

void Graph::set_group(Value param, const std::string& group) {
  ValueInfo& vi = info(param);
  if (vi.kind != ValueKind::kParameter) fail("'", vi.name, "' is not a parameter");
  if (group.empty()) fail("parameter '", vi.name, "': a group name cannot be empty");
  vi.group = group;
}

int Graph::freeze_prefix(const std::string& prefix) {
  int count = 0;
  for (ValueInfo& v : values_) {
    if (v.kind == ValueKind::kParameter && v.name.compare(0, prefix.size(), prefix) == 0) {
      v.frozen = true;
      ++count;
    }
  }
  if (count == 0) fail("no parameter name starts with '", prefix, "'");
  return count;
}

void Graph::set_eval_mode(const std::string& node_name, bool eval_mode) {
  for (Node& n : nodes_) {
    if (n.name == node_name) {
      n.eval_mode = eval_mode;
      return;
    }
  }
  std::vector<std::string> names;
  for (const Node& n : nodes_) names.push_back(n.name);
  fail("set_eval_mode: no node is named '", node_name, "'", did_you_mean(node_name, names));
}

std::string Graph::str() const {
  std::ostringstream out;
  for (const ValueInfo& v : values_) {
    if (v.kind == ValueKind::kNodeOutput) continue;
    out << kind_name(v.kind) << ' ' << v.name << ' ' << v.meta.shape.str() << ' '
        << dtype_name(v.meta.dtype) << (v.frozen ? " frozen" : "") << '\n';
  }
  for (const Node& n : nodes_) {
    out << n.name << " = " << n.op->name << '(';
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
      out << (i ? ", " : "") << (n.inputs[i].valid() ? name(n.inputs[i]) : "-");
    }
    out << ')';
    if (!n.attrs.items().empty()) out << " {" << n.attrs.str() << '}';
    if (n.eval_mode) out << " (eval mode)";
    for (Value o : n.outputs) out << " -> " << shape(o).str();
    out << '\n';
  }
  return out.str();
}

}  // namespace myelin
