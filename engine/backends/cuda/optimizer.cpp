// The fused optimizer step: device tables of every trainable parameter (pointers, sizes,
// state slots, chunk table) built once and reused while the tensors stay put; per step one
// launch writes the step's constants, one computes the global norm and clip scale, one updates
// every parameter.
#include <cmath>

#include "backends/cuda/cuda_ops.hpp"
#include "backends/cuda/fused_optimizer.hpp"
#include "backends/launch_geometry.hpp"
#include "executor_impl.hpp"
#include "kernels/optimizer.hpp"
#include "memory.hpp"
#include "optimizer_access.hpp"

namespace myelin::cuda {

namespace {

struct FusedState {
  std::vector<const void*> key;  // the pointers the tables were built from
  kernels::MultiTensorTable table{};
  Tensor params, chunk_tensor, chunk_start;  // device copies of the tables
  Tensor constants, partials, norm, scale;
  DeviceContext* dc = nullptr;
};

// A table copied to the device in the executor's stream order (the runtime stages the pageable
// source).
template <typename T>
Tensor upload(const std::vector<T>& host, Executor::Impl& impl) {
  const std::size_t bytes = host.size() * sizeof(T);
  Tensor t = impl.allocate(Shape{static_cast<std::int64_t>(bytes == 0 ? 1 : bytes)}, DType::kUInt8);
  if (bytes > 0) {
    MYELIN_CUDA_CHECK(cudaMemcpyAsync(t.raw(), host.data(), bytes, cudaMemcpyHostToDevice,
                                      impl.device_ctx->stream));
  }
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Executor::Impl& impl) {
  Tensor t = impl.allocate(shape, dtype);
  MYELIN_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), impl.device_ctx->stream));
  return t;
}

UpdateConstants<float> to_float(const UpdateConstants<double>& d) {
  UpdateConstants<float> f;
  f.rule = d.rule;
  f.lr = static_cast<float>(d.lr);
  f.grad_scale = 1.0f;  // replaced on the device by the clip scale
  f.grad_clip = static_cast<float>(d.grad_clip);
  f.l2 = static_cast<float>(d.l2);
  f.decay = static_cast<float>(d.decay);
  f.momentum = static_cast<float>(d.momentum);
  f.alpha = static_cast<float>(d.alpha);
  f.beta1 = static_cast<float>(d.beta1);
  f.beta2 = static_cast<float>(d.beta2);
  f.eps = static_cast<float>(d.eps);
  f.step_size = static_cast<float>(d.step_size);
  f.bias_correction2_sqrt = static_cast<float>(d.bias_correction2_sqrt);
  f.centered = d.centered;
  f.amsgrad = d.amsgrad;
  return f;
}

FusedState& state_of(Optimizer& optimizer) {
  std::shared_ptr<void>& slot = OptimizerAccess::device_state(optimizer);
  if (!slot) slot = std::make_shared<FusedState>();
  return *static_cast<FusedState*>(slot.get());
}

}  // namespace

void fused_step(Optimizer& optimizer, Executor& executor, const GradientClipping& clipping) {
  Executor::Impl& impl = ExecutorAccess::impl(executor);
  if (!impl.device_ctx) fail("optimizer: the executor has no CUDA device context");
  DeviceContext& dc = *impl.device_ctx;
  DeviceGuard guard(dc.device);

  // The parameters, their state, and the constants of each (group, step) pair: parameters of a
  // group normally share one step count, so a handful of constant sets serve every parameter.
  std::vector<kernels::ParamSlots> params;
  std::vector<const void*> key;
  std::vector<std::pair<std::string, std::int64_t>> combos;
  std::vector<std::int64_t*> counters;
  std::vector<Tensor*> slot_tensors;
  kernels::StepConstants constants{};
  const Graph& g = executor.graph();
  for (Value v : executor.trainable_parameters()) {
    const ValueInfo& info = g.info(v);
    const ParamRef ref{info.name, info.group, &executor.param(v), &executor.grad(v)};
    const OptimizerAccess::ParamState st = OptimizerAccess::state(optimizer, ref);
    const std::pair<std::string, std::int64_t> combo{info.group, *st.step};
    int index = -1;
    for (std::size_t c = 0; c < combos.size(); ++c) {
      if (combos[c] == combo) index = static_cast<int>(c);
    }
    if (index < 0) {
      if (combos.size() >= static_cast<std::size_t>(kernels::kMaxGroups)) {
        fail("optimizer: more than ", kernels::kMaxGroups,
             " distinct (group, step count) pairs for one fused update");
      }
      index = static_cast<int>(combos.size());
      combos.push_back(combo);
      const OptimizerOptions& o = optimizer.group(info.group);
      UpdateConstants<double> k = update_constants(o, o.lr * optimizer.lr_scale(), *st.step + 1);
      k.grad_clip = clipping.max_value;
      constants.groups[index] = to_float(k);
    }
    kernels::ParamSlots p{};
    p.w = f32(*ref.value);
    p.g = f32(*ref.grad);
    for (int s = 0; s < 3; ++s) {
      Tensor* slot = st.slots[static_cast<std::size_t>(s)];
      p.s[s] = slot != nullptr ? f32(*slot) : nullptr;
      if (slot != nullptr) slot_tensors.push_back(slot);
    }
    p.n = ref.value->numel();
    p.group = index;
    params.push_back(p);
    counters.push_back(st.step);
    key.push_back(reinterpret_cast<const void*>(static_cast<std::intptr_t>(index)));
    for (const void* ptr : {static_cast<const void*>(p.w), static_cast<const void*>(p.g),
                            static_cast<const void*>(p.s[0]), static_cast<const void*>(p.s[1]),
                            static_cast<const void*>(p.s[2])}) {
      key.push_back(ptr);
    }
  }

  FusedState& fs = state_of(optimizer);
  const bool rebuild = fs.dc != &dc || fs.key != key;
  if (rebuild) {
    std::vector<std::int64_t> sizes;
    for (const kernels::ParamSlots& p : params) sizes.push_back(p.n);
    const launch::ChunkTable chunks = launch::multi_tensor_chunks(sizes);
    fs.params = upload(params, impl);
    fs.chunk_tensor = upload(chunks.tensor, impl);
    fs.chunk_start = upload(chunks.start, impl);
    fs.table.params = static_cast<const kernels::ParamSlots*>(fs.params.raw());
    fs.table.chunk_tensor = static_cast<const std::int32_t*>(fs.chunk_tensor.raw());
    fs.table.chunk_start = static_cast<const std::int64_t*>(fs.chunk_start.raw());
    fs.table.chunks = static_cast<std::int64_t>(chunks.tensor.size());
    fs.table.chunk = chunks.chunk;
    fs.constants = impl.allocate(Shape{static_cast<std::int64_t>(sizeof(kernels::StepConstants))},
                                 DType::kUInt8);
    fs.partials = impl.allocate(Shape{std::max<std::int64_t>(1, fs.table.chunks)}, DType::kFloat64);
    fs.norm = zeros(Shape{1}, DType::kFloat64, impl);
    fs.scale = zeros(Shape{1}, DType::kFloat32, impl);
    // The state slots were made outside the executor (on the library's stream): the update
    // kernel uses them in the executor's order from now on.
    for (Tensor* slot : slot_tensors) use_on(*slot->storage(), dc.stream_ref);
    fs.key = key;
    fs.dc = &dc;
  }
  auto* device_constants = static_cast<kernels::StepConstants*>(fs.constants.raw());
  MYELIN_LAUNCH(dc, kernels::launch_write_constants(device_constants, constants, dc.stream));
  MYELIN_LAUNCH(dc,
                kernels::launch_grad_norm(fs.table, static_cast<double*>(fs.partials.raw()),
                                          clipping.max_norm, static_cast<double*>(fs.norm.raw()),
                                          static_cast<float*>(fs.scale.raw()), dc.stream));
  MYELIN_LAUNCH(
      dc, kernels::launch_multi_tensor_update(
              fs.table, device_constants, static_cast<const float*>(fs.scale.raw()), dc.stream));
  for (std::int64_t* counter : counters) ++*counter;
  OptimizerAccess::count_update(optimizer);
}

double fused_last_norm(const Optimizer& optimizer) {
  const std::shared_ptr<void>& slot = OptimizerAccess::device_state(optimizer);
  const auto* fs = static_cast<const FusedState*>(slot.get());
  if (fs == nullptr || !fs->norm.defined()) return 0.0;
  return fs->norm.item();  // a copy on the legacy stream: waits for the update to finish
}

const double* fused_norm_device(const Optimizer& optimizer) {
  const std::shared_ptr<void>& slot = OptimizerAccess::device_state(optimizer);
  const auto* fs = static_cast<const FusedState*>(slot.get());
  return fs == nullptr || !fs->norm.defined() ? nullptr
                                              : static_cast<const double*>(fs->norm.raw());
}

}  // namespace myelin::cuda
