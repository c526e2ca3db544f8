// The executor's plan: topological order, which values take gradients, the backend, parameter
// binding, shape inference and buffers, and the per-node contexts.
#include <queue>

#include "executor_impl.hpp"
#include "memory.hpp"
#include "myelin/error.hpp"

namespace myelin {

// ---- compile ----------------------------------------------------------------------------------

void Executor::Impl::compile() {
  const Graph& g = *graph;
  const auto& nodes = g.nodes();
  graph_values = g.num_values();

  if (!is_floating(options.dtype)) {
    fail("executor: the compute type must be float32 or float64, got ", dtype_name(options.dtype));
  }
  if (backend != Backend::kCpu && options.dtype != DType::kFloat32) {
    fail("executor: the ", backend_name(backend), " backend computes in float32, not ",
         dtype_name(options.dtype), " (float64 is for gradient checks on the CPU)");
  }

  // Topological order (Kahn), taking ready nodes in insertion order so that the order is
  // deterministic and equals the insertion order whenever that is valid.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> consumers(nodes.size());
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    for (Value in : nodes[n].inputs) {
      if (!in.valid()) continue;
      const int producer = g.info(in).producer;
      if (producer >= 0) {
        ++pending[n];
        consumers[static_cast<std::size_t>(producer)].push_back(static_cast<int>(n));
      }
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (pending[n] == 0) ready.push(static_cast<int>(n));
  }
  std::vector<int> all;
  while (!ready.empty()) {
    const int n = ready.top();
    ready.pop();
    all.push_back(n);
    for (int c : consumers[static_cast<std::size_t>(n)]) {
      if (--pending[static_cast<std::size_t>(c)] == 0) ready.push(c);
    }
  }
  if (all.size() != nodes.size()) fail("executor: the graph has a cycle");

  // Keep the nodes the requested outputs depend on (all of them when none is requested).
  std::vector<char> needed(nodes.size(), options.outputs.empty() ? 1 : 0);
  std::vector<int> stack;
  for (Value out : options.outputs) {
    const int producer = g.info(out).producer;
    if (producer >= 0) stack.push_back(producer);
  }
  while (!stack.empty()) {
    const int n = stack.back();
    stack.pop_back();
    if (needed[static_cast<std::size_t>(n)]) continue;
    needed[static_cast<std::size_t>(n)] = 1;
    for (Value in : nodes[static_cast<std::size_t>(n)].inputs) {
      if (in.valid() && g.info(in).producer >= 0) stack.push_back(g.info(in).producer);
    }
  }
  order.clear();
  for (int n : all) {
    if (needed[static_cast<std::size_t>(n)]) order.push_back(n);
  }
  std::string missing;
  for (int n : order) {
    const OpDef& op = *nodes[static_cast<std::size_t>(n)].op;
    if (!op.impl(backend).available()) missing += (missing.empty() ? "" : ", ") + op.name;
  }
  if (!missing.empty()) {
    fail("executor: no ", backend_name(backend), " implementation for: ", missing);
  }

  // Which values need a gradient.
  const std::size_t nv = static_cast<std::size_t>(graph_values);
  requires_grad.assign(nv, 0);
  want_grad.assign(nv, 0);
  trainable.clear();
  for (Value p : g.parameters()) {
    if (!g.info(p).frozen) {
      requires_grad[idx(p)] = want_grad[idx(p)] = 1;
      trainable.push_back(p);
    }
  }
  for (Value in : options.input_grads) {
    const ValueInfo& vi = g.info(in);
    if (vi.kind != ValueKind::kInput) fail("executor: '", vi.name, "' is not a graph input");
    if (!is_floating(vi.meta.dtype)) {
      fail("executor: input '", vi.name, "' is ", dtype_name(vi.meta.dtype),
           " and cannot have a gradient");
    }
    requires_grad[idx(in)] = want_grad[idx(in)] = 1;
  }
  for (int n : order) {
    const Node& node = nodes[static_cast<std::size_t>(n)];
    bool any = false;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Value in = node.inputs[i];
      if (in.valid() && node.op->inputs[i].differentiable && requires_grad[idx(in)]) any = true;
    }
    for (Value out : node.outputs) requires_grad[idx(out)] = any ? 1 : 0;
  }

  BackendOptions backend_options;
  backend_options.device = options.device;
  backend_options.allow_tf32 = options.allow_tf32;
  for (const Node& n : nodes) {
    backend_options.node_labels.push_back("node '" + n.name + "' (" + n.op->name + ")");
  }
  runtime = make_execution_backend(backend_options);
  DeviceScope scope(*runtime);

  values.assign(nv, Tensor());
  grads.assign(nv, Tensor());
  grad_written.assign(nv, 0);
  shared.assign(nv, 0);
  saved.assign(nodes.size(), {});
  scratch.assign(nodes.size(), {});
  bind_parameters();
}

void Executor::Impl::bind_parameters() {
  Graph& g = *graph;
  auto bind = [&](Value v) {
    const Tensor& host = g.tensor(v);
    const DType want = compute_type(host.dtype());
    if (options.share_graph_tensors && options.device.is_cpu() && !options.guard_words &&
        want == host.dtype()) {
      values[idx(v)] = host;
      shared[idx(v)] = 1;
    } else {
      values[idx(v)] = allocate(host.shape(), want);
      values[idx(v)].copy_from(host);
      shared[idx(v)] = 0;
    }
  };
  for (Value p : g.parameters()) bind(p);
  for (Value b : g.buffers()) bind(b);
}

// ---- shapes -----------------------------------------------------------------------------------

void Executor::Impl::infer_shapes() {
  const Graph& g = *graph;
  const auto& nodes = g.nodes();
  auto meta_of = [&](Value v) {
    const Tensor& t = values[idx(v)];
    return TensorMeta{t.shape(), t.dtype()};
  };
  for (int n : order) {
    const Node& node = nodes[static_cast<std::size_t>(n)];
    InferCtx ctx;
    ctx.node_name = node.name;
    ctx.op_name = node.op->name;
    ctx.attrs = &node.attrs;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Value in = node.inputs[i];
      ctx.slot_names.push_back(node.op->inputs[i].name);
      ctx.input_names.push_back(in.valid() ? g.name(in) : "");
      ctx.present.push_back(in.valid());
      ctx.inputs.push_back(in.valid() ? meta_of(in) : TensorMeta{});
    }
    for (Value s : node.state) ctx.state.push_back(meta_of(s));
    node.op->infer(ctx);
    for (std::size_t o = 0; o < node.outputs.size(); ++o) {
      Tensor& t = values[idx(node.outputs[o])];
      const TensorMeta& m = ctx.outputs[o];
      if (!t.defined() || t.shape() != m.shape || t.dtype() != m.dtype) {
        t = allocate(m.shape, m.dtype);
      }
    }
    auto& node_saved = saved[static_cast<std::size_t>(n)];
    node_saved.resize(ctx.saved.size());
    for (std::size_t s = 0; s < ctx.saved.size(); ++s) {
      const TensorMeta& m = ctx.saved[s];
      Tensor& t = node_saved[s];
      if (!t.defined() || t.shape() != m.shape || t.dtype() != m.dtype) {
        t = allocate(m.shape, m.dtype);
      }
    }
  }
}

OpContext Executor::Impl::make_context(int node_index, Mode mode, std::uint64_t step) {
  const Node& node = graph->nodes()[static_cast<std::size_t>(node_index)];
  OpContext ctx;
  ctx.node_name = &node.name;
  ctx.op_name = &node.op->name;
  ctx.attrs = &node.attrs;
  ctx.node_id = node.id;
  ctx.mode = mode;
  ctx.step = step;
  ctx.seed = seed;
  ctx.device = runtime->context();
  for (Value in : node.inputs) ctx.inputs.push_back(in.valid() ? &values[idx(in)] : nullptr);
  for (Value out : node.outputs) ctx.outputs.push_back(&values[idx(out)]);
  for (Value s : node.state) ctx.state.push_back(&values[idx(s)]);
  for (Tensor& t : saved[static_cast<std::size_t>(node_index)]) ctx.saved.push_back(&t);
  return ctx;
}

Tensor& Executor::Impl::grad_buffer(Value v) {
  Tensor& g = grads[idx(v)];
  const Tensor& val = values[idx(v)];
  if (!g.defined() || g.shape() != val.shape() || g.dtype() != val.dtype()) {
    g = allocate(val.shape(), val.dtype());
  }
  return g;
}

const Tensor& Executor::Impl::computed(Value v) const {
  const Tensor& t = values[idx(v)];
  if (!t.defined()) fail("value '", graph->name(v), "' has not been computed (run forward first)");
  return t;
}

Tensor Executor::Impl::allocate(const Shape& shape, DType dtype) const {
  return runtime->allocate(shape, dtype, options.guard_words);
}

void Executor::Impl::check_guards(int node_index, const OpContext& ctx) {
  if (!options.guard_words) return;
  runtime->synchronize();
  const Node& node = graph->nodes()[static_cast<std::size_t>(node_index)];
  auto check = [&](const Tensor* t, const char* role) {
    if (t != nullptr && t->defined() && !guards_intact(*t->storage())) {
      fail("node '", node.name, "' (", node.op->name, ") wrote outside its ", role, " tensor ",
           t->str(), ": a guard word was overwritten");
    }
  };
  for (const Tensor* t : ctx.inputs) check(t, "input");
  for (const Tensor* t : ctx.outputs) check(t, "output");
  for (const Tensor* t : ctx.saved) check(t, "saved");
  for (const Tensor* t : ctx.state) check(t, "state");
  for (const Tensor* t : ctx.grad_outputs) check(t, "output-gradient");
  for (const Tensor* t : ctx.grad_inputs) check(t, "input-gradient");
}

}  // namespace myelin
