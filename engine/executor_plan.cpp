// The executor's plan: topological order, which values take gradients, the backend, parameter
// binding, shape inference and buffers, and the per-node contexts.
#include <algorithm>
#include <cstdint>
#include <queue>
#include <string>

#include "executor_impl.hpp"
#include "memory.hpp"
#include "memory_plan.hpp"
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
  input_storage.assign(nv, nullptr);
  kept.assign(nv, 0);
  reused_in_forward.assign(nv, 0);
  reused_in_backward.assign(nv, 0);
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

void Executor::Impl::prepare() {
  const Graph& g = *graph;
  std::vector<Shape> input_shapes;
  for (Value in : g.inputs()) {
    const Tensor& t = values[idx(in)];
    input_shapes.push_back(t.defined() ? t.shape() : Shape{});
  }
  for (int n : order) {
    const Node& node = g.nodes()[static_cast<std::size_t>(n)];
    for (Value in : node.inputs) {
      if (in.valid() && g.info(in).kind == ValueKind::kInput && !values[idx(in)].defined()) {
        fail("forward: input '", g.name(in), "' (read by node '", node.name, "') is not set");
      }
    }
  }
  if (!has_forward || input_shapes != inferred_for) {
    infer_shapes();
    inferred_for = input_shapes;
  }
}

void Executor::Impl::infer_shapes() {
  const Graph& g = *graph;
  const auto& nodes = g.nodes();
  std::vector<TensorMeta> metas(static_cast<std::size_t>(graph_values));
  std::vector<char> inferred(static_cast<std::size_t>(graph_values), 0);
  std::vector<std::vector<TensorMeta>> saved_metas(nodes.size());
  auto meta_of = [&](Value v) {
    if (inferred[idx(v)]) return metas[idx(v)];
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
      metas[idx(node.outputs[o])] = ctx.outputs[o];
      inferred[idx(node.outputs[o])] = 1;
    }
    saved_metas[static_cast<std::size_t>(n)] = ctx.saved;
  }
  if (planning()) {
    place(metas, saved_metas);
    return;
  }
  auto fit = [&](Tensor& t, const TensorMeta& m) {
    if (!t.defined() || t.shape() != m.shape || t.dtype() != m.dtype)
      t = allocate(m.shape, m.dtype);
  };
  for (int n : order) {
    const Node& node = nodes[static_cast<std::size_t>(n)];
    for (Value out : node.outputs) fit(values[idx(out)], metas[idx(out)]);
    auto& node_saved = saved[static_cast<std::size_t>(n)];
    const auto& m = saved_metas[static_cast<std::size_t>(n)];
    node_saved.resize(m.size());
    for (std::size_t s = 0; s < m.size(); ++s) fit(node_saved[s], m[s]);
  }
}

// ---- memory plan ------------------------------------------------------------------------------

void Executor::Impl::place(const std::vector<TensorMeta>& metas,
                           const std::vector<std::vector<TensorMeta>>& saved_metas) {
  const Graph& g = *graph;
  const auto& nodes = g.nodes();
  const int count = static_cast<int>(order.size());
  const int end = 2 * count + 1;  // after the pass
  const std::size_t nv = static_cast<std::size_t>(graph_values);
  std::vector<int> fwd(nodes.size(), -1), bwd(nodes.size(), -1);
  std::vector<char> runs_backward(nodes.size(), 0);
  for (int k = 0; k < count; ++k) {
    const auto n = static_cast<std::size_t>(order[static_cast<std::size_t>(k)]);
    fwd[n] = k;
    bwd[n] = 2 * count - k;
    for (Value out : nodes[n].outputs) runs_backward[n] |= requires_grad[idx(out)];
  }
  // Backward of a node may read its inputs, outputs and saved tensors.
  auto last_read = [&](std::size_t n) { return runs_backward[n] ? bwd[n] : fwd[n]; };

  kept.assign(nv, 0);
  for (Value out : options.outputs) kept[idx(out)] = 1;
  // Which nodes read each value (in execution order).
  std::vector<std::vector<std::pair<int, std::size_t>>> readers(nv);
  for (int n : order) {
    const Node& node = nodes[static_cast<std::size_t>(n)];
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      if (node.inputs[i].valid()) readers[idx(node.inputs[i])].emplace_back(n, i);
    }
  }

  struct Target {
    Tensor* tensor;
    TensorMeta meta;
    std::size_t request;
  };
  std::vector<BufferRequest> requests;
  std::vector<std::string> names;
  std::vector<Target> targets;
  std::vector<std::size_t> value_request(nv, SIZE_MAX), grad_request(nv, SIZE_MAX);
  auto request = [&](const TensorMeta& m, int first, int last, std::string name) {
    requests.push_back(
        {static_cast<std::size_t>(m.shape.numel()) * dtype_size(m.dtype), first, last});
    names.push_back(std::move(name));
    return requests.size() - 1;
  };

  // Node outputs and saved tensors.
  for (int n : order) {
    const auto ni = static_cast<std::size_t>(n);
    const Node& node = nodes[ni];
    for (Value out : node.outputs) {
      int last = last_read(ni);
      for (const auto& [reader, slot] : readers[idx(out)]) {
        last = std::max(last, last_read(static_cast<std::size_t>(reader)));
      }
      if (options.outputs.empty() || kept[idx(out)]) {
        kept[idx(out)] = 1;
        last = end;
      }
      const std::size_t r = request(metas[idx(out)], fwd[ni], last, "value '" + g.name(out) + "'");
      value_request[idx(out)] = r;
      targets.push_back({&values[idx(out)], metas[idx(out)], r});
    }
    auto& node_saved = saved[ni];
    node_saved.resize(saved_metas[ni].size());
    for (std::size_t s = 0; s < node_saved.size(); ++s) {
      const std::size_t r = request(saved_metas[ni][s], fwd[ni], last_read(ni),
                                    "saved '" + node.name + "' #" + std::to_string(s));
      targets.push_back({&node_saved[s], saved_metas[ni][s], r});
    }
  }

  // Gradients of intermediate values: written first by the backward of their last reader (or
  // by the seed when the value is an output), read last by the backward of their producer.
  // Later producers first, so that an activation's output gradient is placed before its input's.
  for (int k = count - 1; k >= 0; --k) {
    const auto ni = static_cast<std::size_t>(order[static_cast<std::size_t>(k)]);
    for (Value v : nodes[ni].outputs) {
      if (!requires_grad[idx(v)] || want_grad[idx(v)]) continue;
      int first = bwd[ni];
      std::size_t first_writer = SIZE_MAX;
      for (const auto& [reader, slot] : readers[idx(v)]) {
        const auto ri = static_cast<std::size_t>(reader);
        if (!runs_backward[ri] || !nodes[ri].op->inputs[slot].differentiable) continue;
        if (bwd[ri] < first) {
          first = bwd[ri];
          first_writer = ri;
        }
      }
      if (kept[idx(v)]) first = count;  // backward may be seeded here
      const TensorMeta& m = metas[idx(v)];
      // In place: the first writer's backward reads each element of its output gradient
      // before it writes that element of this gradient, and nothing reads the former after.
      std::size_t r = SIZE_MAX;
      if (first_writer != SIZE_MAX && first == bwd[first_writer] &&
          nodes[first_writer].op->backward_in_place) {
        const Value y = nodes[first_writer].outputs[0];
        const std::size_t ry = grad_request[idx(y)];
        if (ry != SIZE_MAX && metas[idx(y)].dtype == m.dtype &&
            metas[idx(y)].shape.numel() == m.shape.numel()) {
          r = ry;
          requests[r].last = std::max(requests[r].last, bwd[ni]);
          names[r] += " = gradient '" + g.name(v) + "' (in place)";
        }
      }
      if (r == SIZE_MAX) r = request(m, first, bwd[ni], "gradient '" + g.name(v) + "'");
      grad_request[idx(v)] = r;
      targets.push_back({&grads[idx(v)], m, r});
    }
  }

  // Scratch for a gradient that fans in: alive during one backward node.
  for (int n : order) {
    const auto ni = static_cast<std::size_t>(n);
    const Node& node = nodes[ni];
    auto& node_scratch = scratch[ni];
    node_scratch.assign(node.inputs.size(), Tensor());
    if (!runs_backward[ni]) continue;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const Value in = node.inputs[i];
      if (!in.valid() || !node.op->inputs[i].differentiable || !requires_grad[idx(in)]) continue;
      const TensorMeta m = value_request[idx(in)] != SIZE_MAX
                               ? metas[idx(in)]
                               : TensorMeta{values[idx(in)].shape(), values[idx(in)].dtype()};
      const std::size_t r =
          request(m, bwd[ni], bwd[ni], "scratch '" + node.name + "' " + node.op->inputs[i].name);
      targets.push_back({&node_scratch[i], m, r});
    }
  }

  const BufferPlacement placement = place_buffers(requests);
  if (!arena || arena->bytes < placement.arena_bytes) {
    ++generation;
    arena.reset();  // given back before the larger one is taken
    arena = allocate(Shape{static_cast<std::int64_t>(
                         std::max<std::size_t>(placement.arena_bytes, kArenaAlignment))},
                     DType::kUInt8)
                .storage();
  }
  for (const Target& t : targets) {
    *t.tensor =
        Tensor::wrap(storage_view(arena, placement.offsets[t.request], requests[t.request].bytes),
                     t.meta.shape, t.meta.dtype);
  }

  // A value may be overwritten by a buffer that shares memory with it and is written later.
  reused_in_forward.assign(nv, 0);
  reused_in_backward.assign(nv, 0);
  for (std::size_t v = 0; v < nv; ++v) {
    const std::size_t r = value_request[v];
    if (r == SIZE_MAX || kept[v] || requests[r].bytes == 0) continue;
    const std::size_t begin = placement.offsets[r], stop = begin + requests[r].bytes;
    for (std::size_t o = 0; o < requests.size(); ++o) {
      const std::size_t ob = placement.offsets[o], oe = ob + requests[o].bytes;
      if (o == r || requests[o].first <= requests[r].first || oe <= begin || stop <= ob) continue;
      (requests[o].first < count ? reused_in_forward : reused_in_backward)[v] = 1;
    }
  }

  plan = MemoryPlanInfo{};
  plan.planned = true;
  plan.arena_bytes = placement.arena_bytes;
  plan.naive_bytes = placement.naive_bytes;
  plan.steps = end + 1;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    plan.buffers.push_back(
        {names[r], placement.offsets[r], requests[r].bytes, requests[r].first, requests[r].last});
  }
}

OpContext Executor::Impl::make_context(int node_index, Mode mode, std::uint64_t step) {
  const Node& node = graph->nodes()[static_cast<std::size_t>(node_index)];
  OpContext ctx;
  ctx.node_name = &node.name;
  ctx.op_name = &node.op->name;
  ctx.attrs = &node.attrs;
  ctx.node_id = node.id;
  ctx.mode = node.eval_mode ? Mode::kEval : mode;
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

Tensor Executor::Impl::input_buffer(Value input, const Shape& shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
  if (options.guard_words) return allocate(shape, dtype);
  std::shared_ptr<Storage>& memory = input_storage[idx(input)];
  if (!memory || memory->bytes < bytes) {
    ++generation;
    memory.reset();
    memory =
        allocate(Shape{static_cast<std::int64_t>(std::max<std::size_t>(bytes, 1))}, DType::kUInt8)
            .storage();
  }
  return Tensor::wrap(storage_view(memory, 0, bytes), shape, dtype);
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
