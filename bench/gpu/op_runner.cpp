#include "op_runner.hpp"

#include "myelin/error.hpp"
#include "myelin/random.hpp"

namespace myelin::bench {

namespace {

Tensor random_host(const TensorMeta& meta, std::uint64_t seed, std::int64_t classes) {
  Tensor t = Tensor::empty(meta.shape, DType::kFloat64);
  Rng rng(seed);
  double* p = t.data<double>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    p[i] = is_floating(meta.dtype)
               ? rng.uniform(-2.0, 2.0)
               : static_cast<double>(rng.below(static_cast<std::uint64_t>(classes)));
  }
  return t.to(meta.dtype);
}

std::size_t bytes_of(const std::vector<Tensor>& tensors) {
  std::size_t total = 0;
  for (const Tensor& t : tensors) total += t.defined() ? t.nbytes() : 0;
  return total;
}

}  // namespace

OpRunner::OpRunner(ExecutionBackend& backend, Graph& graph, std::uint64_t seed,
                   std::int64_t classes)
    : backend_(backend) {
  if (graph.nodes().empty()) fail("op runner: the graph has no node");
  node_ = &graph.nodes().back();
  InferCtx infer;
  infer.node_name = node_->name;
  infer.op_name = node_->op->name;
  infer.attrs = &node_->attrs;
  int slot = 0;
  for (Value in : node_->inputs) {
    infer.slot_names.push_back(node_->op->inputs[static_cast<std::size_t>(slot++)].name);
    infer.input_names.push_back(in.valid() ? graph.name(in) : "");
    infer.present.push_back(in.valid());
    if (!in.valid()) {
      infer.inputs.push_back({});
      inputs_.emplace_back();
      floating_.push_back(false);
      continue;
    }
    const ValueInfo& info = graph.info(in);
    infer.inputs.push_back(info.meta);
    Tensor device = backend_.allocate(info.meta.shape, info.meta.dtype, false);
    const Tensor host = info.kind == ValueKind::kInput
                            ? random_host(info.meta, seed + inputs_.size(), classes)
                            : graph.tensor(in);
    backend_.upload(device, host, -1);
    inputs_.push_back(device);
    floating_.push_back(is_floating(info.meta.dtype));
  }
  for (Value s : node_->state) {
    const Tensor& host = graph.tensor(s);
    infer.state.push_back({host.shape(), host.dtype()});
    Tensor device = backend_.allocate(host.shape(), host.dtype(), false);
    backend_.upload(device, host, -1);
    state_.push_back(device);
  }
  node_->op->infer(infer);
  for (const TensorMeta& m : infer.outputs) {
    outputs_.push_back(backend_.allocate(m.shape, m.dtype, false));
    grad_outputs_.push_back(backend_.allocate(m.shape, m.dtype, false));
    backend_.upload(grad_outputs_.back(), random_host(m, seed + 100, classes), -1);
  }
  for (const TensorMeta& m : infer.saved)
    saved_.push_back(backend_.allocate(m.shape, m.dtype, false));
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    const bool wants = floating_[i] && node_->op->inputs[i].differentiable;
    grad_inputs_.push_back(wants ? backend_.allocate(inputs_[i].shape(), inputs_[i].dtype(), false)
                                 : Tensor());
  }
  backend_.synchronize();
}

OpContext OpRunner::context(bool with_grads) {
  OpContext ctx;
  ctx.node_name = &node_->name;
  ctx.op_name = &node_->op->name;
  ctx.attrs = &node_->attrs;
  ctx.node_id = node_->id;
  ctx.mode = Mode::kTrain;
  ctx.device = backend_.context();
  for (const Tensor& t : inputs_) ctx.inputs.push_back(t.defined() ? &t : nullptr);
  for (Tensor& t : outputs_) ctx.outputs.push_back(&t);
  for (Tensor& t : saved_) ctx.saved.push_back(&t);
  for (Tensor& t : state_) ctx.state.push_back(&t);
  if (with_grads) {
    for (const Tensor& t : grad_outputs_) ctx.grad_outputs.push_back(&t);
    for (Tensor& t : grad_inputs_) ctx.grad_inputs.push_back(t.defined() ? &t : nullptr);
  }
  return ctx;
}

void OpRunner::forward() {
  backend_.begin_node(0);
  node_->op->impl(Backend::kCuda).forward(context(false));
}

void OpRunner::backward() {
  backend_.begin_node(0);
  node_->op->impl(Backend::kCuda).backward(context(true));
}

std::size_t OpRunner::input_bytes(bool floating_only) const {
  std::size_t total = 0;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i].defined() && (!floating_only || floating_[i])) total += inputs_[i].nbytes();
  }
  return total;
}

std::size_t OpRunner::output_bytes() const {
  return bytes_of(outputs_);
}

std::size_t OpRunner::saved_bytes() const {
  return bytes_of(saved_);
}

}  // namespace myelin::bench
