#include "myelin/executor.hpp"

#include <omp.h>

#include <optional>

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

}  // namespace

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
    bound = m.input_buffer(input, tensor.shape(), t);
  }
  m.runtime->upload(bound, tensor, input.id);
}

Tensor Executor::input_staging(Value input, const Shape& shape, DType dtype) {
  Impl& m = *impl_;
  const ValueInfo& vi = m.graph->info(input);
  if (vi.kind != ValueKind::kInput) fail("input_staging: '", vi.name, "' is not a graph input");
  DeviceScope scope(*m.runtime);
  Tensor pinned = m.runtime->staging(input.id, shape, dtype);
  if (pinned.defined()) return pinned;
  Tensor& kept = m.host_staging[input.id];
  if (!kept.defined() || kept.shape() != shape || kept.dtype() != dtype) {
    kept = Tensor::empty(shape, dtype);
  }
  return kept;
}

void Executor::forward(Mode mode, std::uint64_t step) {
  Impl& m = *impl_;
  Graph& g = *m.graph;
  if (g.num_values() != m.graph_values) {
    fail("executor: the graph changed after the executor was built; build a new executor");
  }
  ThreadScope threads(m.options.num_threads);
  DeviceScope scope(*m.runtime);
  m.prepare();
  m.runtime->begin_forward(step);
  for (int n : m.order) {
    const Node& node = g.nodes()[static_cast<std::size_t>(n)];
    OpContext ctx = m.make_context(n, mode, step);
    m.runtime->begin_node(n);
    node.op->impl(m.backend).forward(ctx);
    m.check_guards(n, ctx);
  }
  m.runtime->begin_node(-1);  // what follows belongs to no node
  m.has_forward = true;
  m.backward_since_forward = false;
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
  if (m.planning() && g.info(output).producer >= 0 && !m.kept[idx(output)]) {
    fail("backward: '", g.name(output), "' is not one of the executor's outputs, so its memory ",
         "may have been reused (list it in ExecutorOptions::outputs)");
  }
  ThreadScope threads(m.options.num_threads);
  DeviceScope scope(*m.runtime);
  m.backward_since_forward = true;
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
    } else if (m.backend != Backend::kCpu && seed_grad.device().is_cpu()) {
      // The seed stays on the device while it is the same (every training step's), so that
      // the step needs no upload from the host (which a CUDA Graph could not hold).
      if (m.seed_output != output || !m.seed_host.defined() ||
          !bitwise_equal(m.seed_host, seed_grad)) {
        m.seed_output = output;
        m.seed_host = seed_grad.clone();
        m.seed_device = m.allocate(out.shape(), out.dtype());
        m.runtime->upload(m.seed_device, seed_grad, -1 - output.id);
      }
      m.runtime->upload(m.grad_buffer(output), m.seed_device, -1 - output.id);
      m.grad_written[idx(output)] = 1;
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
    m.runtime->begin_node(*it);  // the node's zeroed gradients and accumulations too
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
    node.op->impl(m.backend).backward(ctx);
    m.check_guards(*it, ctx);
    for (auto& [v, s] : to_accumulate) {
      m.runtime->accumulate(m.grads[idx(v)], *s);
    }
  }
  m.runtime->begin_node(-1);

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
  if (m.planning() && !m.kept[idx(v)] &&
      (m.reused_in_forward[idx(v)] || (m.backward_since_forward && m.reused_in_backward[idx(v)]))) {
    fail("value '", vi.name, "' is not kept: the memory plan reused its memory later in the ",
         m.reused_in_forward[idx(v)] ? "forward" : "backward", " pass (list it in ",
         "ExecutorOptions::outputs to read it)");
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
std::uint64_t Executor::buffer_generation() const {
  return impl_->generation;
}

MemoryPlanInfo Executor::memory_plan() {
  Impl& m = *impl_;
  DeviceScope scope(*m.runtime);
  m.prepare();
  return m.plan;
}

const std::vector<int>& Executor::order() const {
  return impl_->order;
}

}  // namespace myelin
