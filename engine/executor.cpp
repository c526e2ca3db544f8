#include "myelin/executor.hpp"

#include <omp.h>

#include <optional>
#include <queue>

#include "executor_impl.hpp"
#include "memory.hpp"
#include "myelin/error.hpp"


namespace myelin {

namespace {

// Sets the calling thread's OpenMP team size (our loops and OpenBLAS's OpenMP build both read
// it) for the duration of a call, and restores it.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : saved_(omp_get_max_threads()), active_(threads > 0) {
    if (active_) omp_set_num_threads(threads);
  }
  ~ThreadScope() {
    if (active_) omp_set_num_threads(saved_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int saved_;
  bool active_;
};

std::size_t idx(Value v) {
  return static_cast<std::size_t>(v.id);
}

// Makes the executor's device current while it works on it: kernels and library calls go to
// the current device's streams only.
class DeviceScope {
 public:
  explicit DeviceScope(ExecutionBackend& backend) : guard_(backend.enter()) {}

 private:
  std::unique_ptr<DeviceScopeGuard> guard_;
};

}  // namespace

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

// ---- public API -------------------------------------------------------------------------------

Executor::Executor(Graph& graph, const ExecutorOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->graph = &graph;
  impl_->options = options;
  impl_->backend = backend_of(options.device);
  impl_->seed = options.seed.value_or(graph.seed());
  impl_->compile();
}

Executor::~Executor() = default;
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;

void Executor::set_input(Value input, const Tensor& tensor) {
  Impl& m = *impl_;
  const ValueInfo& vi = m.graph->info(input);
  if (vi.kind != ValueKind::kInput) fail("set_input: '", vi.name, "' is not a graph input");
  if (!tensor.defined()) fail("set_input: the tensor for '", vi.name, "' is undefined");
  const Shape& want = vi.meta.shape;
  const Shape& got = tensor.shape();
  bool ok = want.rank() == got.rank();
  for (int a = 1; ok && a < want.rank(); ++a) ok = want[a] == got[a];
  if (!ok) {
    fail("set_input: input '", vi.name, "' is declared ", want.str(), ", got ", got.str(),
         " (only the first, batch, dimension may differ)");
  }
  if (is_floating(vi.meta.dtype) != is_floating(tensor.dtype()) ||
      (!is_floating(vi.meta.dtype) && vi.meta.dtype != tensor.dtype())) {
    fail("set_input: input '", vi.name, "' is declared ", dtype_name(vi.meta.dtype), ", got ",
         dtype_name(tensor.dtype()));
  }
  const DType t = m.compute_type(vi.meta.dtype);
  DeviceScope scope(*m.runtime);
  if (m.options.device.is_cpu() && !m.options.guard_words) {
    m.values[idx(input)] = tensor.to(t);  // used in place when it has the compute type
    return;
  }
  Tensor& bound = m.values[idx(input)];
  if (!bound.defined() || bound.shape() != tensor.shape() || bound.dtype() != t) {
    bound = m.allocate(tensor.shape(), t);
  }
  m.runtime->upload(bound, tensor, input.id);
}

void Executor::forward(Mode mode, std::uint64_t step) {
  Impl& m = *impl_;
  Graph& g = *m.graph;
  if (g.num_values() != m.graph_values) {
    fail("executor: the graph changed after the executor was built; build a new executor");
  }
  ThreadScope threads(m.options.num_threads);
  DeviceScope scope(*m.runtime);
  // Every input a node reads must be bound; re-infer shapes when the batch changed.
  std::vector<Shape> input_shapes;
  for (Value in : g.inputs()) {
    const Tensor& t = m.values[idx(in)];
    input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  for (int n : m.order) {
    const Node& node = g.nodes()[static_cast<std::size_t>(n)];
    for (Value in : node.inputs) {
      if (in.valid() && g.info(in).kind == ValueKind::kInput && !m.values[idx(in)].defined()) {
        fail("forward: input '", g.name(in), "' (read by node '", node.name, "') is not set");
      }
    }
  }
  if (!m.has_forward || input_shapes != m.inferred_for) {
    m.infer_shapes();
    m.inferred_for = input_shapes;
  }
  m.runtime->begin_forward(step);
  for (int n : m.order) {
    const Node& node = g.nodes()[static_cast<std::size_t>(n)];
    OpContext ctx = m.make_context(n, mode, step);
    m.runtime->begin_node(n);
    node.op->impl(m.backend).forward(ctx);
    m.check_guards(n, ctx);
  }
  m.has_forward = true;
  m.last_mode = mode;
  m.last_step = step;
}

void Executor::backward(Value loss, bool accumulate) {
  const Tensor& out = impl_->computed(loss);
  if (out.numel() != 1) {
    fail("backward: '", impl_->graph->name(loss), "' has shape ", out.shape().str(),
         "; a loss is a scalar (pass a seed gradient for other outputs)");
  }
  backward(loss, Tensor::full(out.shape(), 1.0, out.dtype()), accumulate);
}

void Executor::backward(Value output, const Tensor& seed_grad, bool accumulate) {
  Impl& m = *impl_;
  Graph& g = *m.graph;
  if (!m.has_forward) fail("backward: run forward first");
  const Tensor& out = m.computed(output);
  if (seed_grad.shape() != out.shape()) {
    fail("backward: the seed gradient is ", seed_grad.shape().str(), " but '", g.name(output),
         "' is ", out.shape().str());
  }
  ThreadScope threads(m.options.num_threads);
  DeviceScope scope(*m.runtime);
  std::fill(m.grad_written.begin(), m.grad_written.end(), 0);
  for (std::size_t v = 0; v < m.want_grad.size(); ++v) {
    if (!m.want_grad[v] || !accumulate) continue;
    const Tensor& gt = m.grads[v];
    if (!gt.defined()) continue;  // nothing to accumulate into yet
    if (gt.shape() != m.values[v].shape()) {
      fail("backward: cannot accumulate the gradient of '", g.name(Value{static_cast<int>(v)}),
           "': its shape changed from ", gt.shape().str(), " to ", m.values[v].shape().str());
    }
    m.grad_written[v] = 1;
  }

  const bool seeded = m.requires_grad[idx(output)] != 0;
  if (seeded) {
    if (m.grad_written[idx(output)]) {  // accumulating into an input or parameter
      Tensor seed = m.allocate(out.shape(), out.dtype());
      m.runtime->upload(seed, seed_grad, -1);
      m.runtime->accumulate(m.grads[idx(output)], seed);
    } else {
      m.runtime->upload(m.grad_buffer(output), seed_grad, -1 - output.id);
      m.grad_written[idx(output)] = 1;
    }
  }

  const auto& nodes = g.nodes();
  for (auto it = m.order.rbegin(); seeded && it != m.order.rend(); ++it) {
    const Node& node = nodes[static_cast<std::size_t>(*it)];
    bool reached = false;
    for (Value o : node.outputs) reached = reached || m.grad_written[idx(o)];
    if (!reached) continue;
    OpContext ctx = m.make_context(*it, m.last_mode, m.last_step);
    for (Value o : node.outputs) {
      if (!m.grad_written[idx(o)]) {  // an output no gradient reached contributes zero
        m.runtime->zero(m.grad_buffer(o));
        m.grad_written[idx(o)] = 1;
      }
      ctx.grad_outputs.push_back(&m.grads[idx(o)]);
    }
    auto& node_scratch = m.scratch[static_cast<std::size_t>(*it)];
    node_scratch.resize(node.inputs.size());
    std::vector<std::pair<Value, Tensor*>> to_accumulate;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Value in = node.inputs[i];
      if (!in.valid() || !node.op->inputs[i].differentiable || !m.requires_grad[idx(in)]) {
        ctx.grad_inputs.push_back(nullptr);
        continue;
      }
      if (!m.grad_written[idx(in)]) {
        ctx.grad_inputs.push_back(&m.grad_buffer(in));
        m.grad_written[idx(in)] = 1;
      } else {  // fan-out: this use's gradient goes to scratch and is added afterwards
        Tensor& s = node_scratch[i];
        const Tensor& val = m.values[idx(in)];
        if (!s.defined() || s.shape() != val.shape() || s.dtype() != val.dtype()) {
          s = m.allocate(val.shape(), val.dtype());
        }
        ctx.grad_inputs.push_back(&s);
        to_accumulate.emplace_back(in, &s);
      }
    }
    m.runtime->begin_node(*it);
    node.op->impl(m.backend).backward(ctx);
    m.check_guards(*it, ctx);
    for (auto& [v, s] : to_accumulate) {
      m.runtime->accumulate(m.grads[idx(v)], *s);
    }
  }

  // Parameters and requested inputs the loss does not depend on get a zero gradient.
  for (std::size_t v = 0; v < m.want_grad.size(); ++v) {
    if (m.want_grad[v] && !m.grad_written[v]) {
      m.runtime->zero(m.grad_buffer(Value{static_cast<int>(v)}));
    }
  }
}

const Tensor& Executor::pending_value(Value v) const {
  const Impl& m = *impl_;
  const ValueInfo& vi = m.graph->info(v);
  if (v.id >= m.graph_values) fail("value '", vi.name, "' was added after the executor was built");
  const Tensor& t = m.values[idx(v)];
  if (!t.defined()) {
    fail("value '", vi.name, "' has not been computed",
         vi.kind == ValueKind::kInput ? " (set_input it)" : " (run forward first)");
  }
  return t;
}

const Tensor& Executor::value(Value v) const {
  const Tensor& t = pending_value(v);
  // Finished, and any kernel error raised.
  DeviceScope scope(*impl_->runtime);
  impl_->runtime->synchronize();
  return t;
}

void Executor::synchronize() {
  DeviceScope scope(*impl_->runtime);
  impl_->runtime->synchronize();
}

ExecutionBackend& Executor::execution_backend() {
  return *impl_->runtime;
}

bool Executor::has_grad(Value v) const {
  const Impl& m = *impl_;
  return v.id >= 0 && v.id < m.graph_values && m.want_grad[idx(v)] && m.grads[idx(v)].defined();
}

const Tensor& Executor::grad(Value v) const {
  const Impl& m = *impl_;
  const ValueInfo& vi = m.graph->info(v);
  if (!has_grad(v)) {
    if (v.id < m.graph_values && !m.want_grad[idx(v)]) {
      fail("no gradient is kept for '", vi.name, "'",
           vi.kind == ValueKind::kParameter ? " (it is frozen)"
           : vi.kind == ValueKind::kInput   ? " (list it in ExecutorOptions::input_grads)"
                                            : " (only parameters and inputs keep gradients)");
    }
    fail("no gradient for '", vi.name, "' yet: run backward first");
  }
  return m.grads[idx(v)];
}

Tensor& Executor::grad(Value v) {
  return const_cast<Tensor&>(static_cast<const Executor&>(*this).grad(v));
}

Tensor& Executor::param(Value v) {
  Impl& m = *impl_;
  const ValueInfo& vi = m.graph->info(v);
  if (vi.kind != ValueKind::kParameter && vi.kind != ValueKind::kBuffer) {
    fail("'", vi.name, "' is not a parameter or buffer");
  }
  return m.values[idx(v)];
}

const std::vector<Value>& Executor::trainable_parameters() const {
  return impl_->trainable;
}

void Executor::write_back() {
  Impl& m = *impl_;
  Graph& g = *m.graph;
  DeviceScope scope(*m.runtime);
  auto copy_back = [&](Value v) {
    if (!m.shared[idx(v)]) g.tensor(v).copy_from(m.values[idx(v)]);
  };
  for (Value p : g.parameters()) copy_back(p);
  for (Value b : g.buffers()) copy_back(b);
}

Graph& Executor::graph() {
  return *impl_->graph;
}
const Graph& Executor::graph() const {
  return *impl_->graph;
}
const ExecutorOptions& Executor::options() const {
  return impl_->options;
}
Backend Executor::backend() const {
  return impl_->backend;
}
const std::vector<int>& Executor::order() const {
  return impl_->order;
}

}  // namespace myelin
