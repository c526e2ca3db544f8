// The fused optimizer step: device tables of every trainable parameter (pointers, sizes,
// state slots, chunk table) built once and reused while the tensors stay put; per step one
// launch writes the step's constants, one computes the global norm and clip scale, one updates
// every parameter. Parameters whose constants are equal (a group at one step count) share one
// constant set.
#include <cmath>

#include "backends/cuda/cuda_ops.hpp"
#include "backends/cuda/fused_optimizer.hpp"
#include "backends/launch_geometry.hpp"
#include "kernels/optimizer.hpp"
#include "memory.hpp"

namespace myelin::cuda {

namespace {

struct FusedState final : UpdateCache {
  std::vector<const void*> key;  // the pointers the tables were built from
  kernels::MultiTensorTable table{};
  Tensor params, chunk_tensor, chunk_start;  // device copies of the tables
  Tensor constants, partials, norm, scale;
  DeviceContext* dc = nullptr;

  double last_norm() const override {
    // A copy on the legacy stream: waits for the update to finish.
    return norm.defined() ? norm.item() : 0.0;
  }
};

// A table copied to the device in the stream's order (the runtime stages the pageable source).
template <typename T>
Tensor upload(const std::vector<T>& host, DeviceContext& dc, const DeviceAllocator& allocate) {
  const std::size_t bytes = host.size() * sizeof(T);
  Tensor t = allocate(Shape{static_cast<std::int64_t>(bytes == 0 ? 1 : bytes)}, DType::kUInt8);
  if (bytes > 0) {
    MYELIN_CUDA_CHECK(
        cudaMemcpyAsync(t.raw(), host.data(), bytes, cudaMemcpyHostToDevice, dc.stream));
  }
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, DeviceContext& dc, const DeviceAllocator& allocate) {
  Tensor t = allocate(shape, dtype);
  MYELIN_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), dc.stream));
  return t;
}

bool same(const UpdateConstants<float>& a, const UpdateConstants<float>& b) {
  return a.rule == b.rule && a.lr == b.lr && a.grad_scale == b.grad_scale &&
         a.grad_clip == b.grad_clip && a.l2 == b.l2 && a.decay == b.decay &&
         a.momentum == b.momentum && a.alpha == b.alpha && a.beta1 == b.beta1 &&
         a.beta2 == b.beta2 && a.eps == b.eps && a.step_size == b.step_size &&
         a.bias_correction2_sqrt == b.bias_correction2_sqrt && a.centered == b.centered &&
         a.amsgrad == b.amsgrad;
}

UpdateConstants<float> to_float(const UpdateConstants<double>& d) {
  UpdateConstants<float> f = constants_as<float>(d);
  f.grad_scale = 1.0f;  // replaced on the device by the clip scale
  return f;
}

// The norm and clip scale, then every parameter's update from the constants on the device.
void launch_update_kernels(DeviceContext& dc, FusedState& fs, const GradientClipping& clipping) {
  MYELIN_LAUNCH(dc,
                kernels::launch_grad_norm(fs.table, static_cast<double*>(fs.partials.raw()),
                                          clipping.max_norm, static_cast<double*>(fs.norm.raw()),
                                          static_cast<float*>(fs.scale.raw()), dc.stream));
  MYELIN_LAUNCH(dc, kernels::launch_multi_tensor_update(
                        fs.table, static_cast<const kernels::StepConstants*>(fs.constants.raw()),
                        static_cast<const float*>(fs.scale.raw()), dc.stream));
}

}  // namespace

void fused_update(DeviceContext& dc, const DeviceAllocator& allocate,
                  const std::vector<ParamUpdate>& updates, const GradientClipping& clipping,
                  std::shared_ptr<UpdateCache>& cache, UpdatePart part) {
  DeviceGuard guard(dc.device);
  if (part == UpdatePart::kKernels) {
    // The tables and constants of this update were made by its kConstants part.
    auto* fs = dynamic_cast<FusedState*>(cache.get());
    if (fs == nullptr || fs->dc != &dc) fail("optimizer: the update's constants were not written");
    launch_update_kernels(dc, *fs, clipping);
    return;
  }

  // The parameters and the distinct constant sets: parameters of a group normally share one
  // step count, so a handful of constant sets serve every parameter.
  std::vector<kernels::ParamSlots> params;
  std::vector<const void*> key;
  std::vector<Tensor*> slot_tensors;
  kernels::StepConstants constants{};
  int sets = 0;
  for (const ParamUpdate& u : updates) {
    UpdateConstants<double> k = u.constants;
    k.grad_clip = clipping.max_value;
    const UpdateConstants<float> f = to_float(k);
    int index = -1;
    for (int c = 0; c < sets; ++c) {
      if (same(constants.groups[c], f)) index = c;
    }
    if (index < 0) {
      if (sets >= kernels::kMaxGroups) {
        fail("optimizer: more than ", kernels::kMaxGroups,
             " distinct (group, step count) pairs for one fused update");
      }
      index = sets++;
      constants.groups[index] = f;
    }
    kernels::ParamSlots p{};
    p.w = f32(*u.value);
    p.g = f32(*u.grad);
    for (int s = 0; s < 3; ++s) {
      Tensor* slot = u.slots[s];
      p.s[s] = slot != nullptr ? f32(*slot) : nullptr;
      if (slot != nullptr) slot_tensors.push_back(slot);
    }
    p.n = u.value->numel();
    p.group = index;
    params.push_back(p);
    key.push_back(reinterpret_cast<const void*>(static_cast<std::intptr_t>(index)));
    for (const void* ptr : {static_cast<const void*>(p.w), static_cast<const void*>(p.g),
                            static_cast<const void*>(p.s[0]), static_cast<const void*>(p.s[1]),
                            static_cast<const void*>(p.s[2])}) {
      key.push_back(ptr);
    }
  }

  auto* fs = dynamic_cast<FusedState*>(cache.get());
  if (fs == nullptr) {
    auto made = std::make_shared<FusedState>();
    fs = made.get();
    cache = std::move(made);
  }
  const bool rebuild = fs->dc != &dc || fs->key != key;
  if (rebuild) {
    std::vector<std::int64_t> sizes;
    for (const kernels::ParamSlots& p : params) sizes.push_back(p.n);
    const launch::ChunkTable chunks = launch::multi_tensor_chunks(sizes);
    fs->params = upload(params, dc, allocate);
    fs->chunk_tensor = upload(chunks.tensor, dc, allocate);
    fs->chunk_start = upload(chunks.start, dc, allocate);
    fs->table.params = static_cast<const kernels::ParamSlots*>(fs->params.raw());
    fs->table.chunk_tensor = static_cast<const std::int32_t*>(fs->chunk_tensor.raw());
    fs->table.chunk_start = static_cast<const std::int64_t*>(fs->chunk_start.raw());
    fs->table.chunks = static_cast<std::int64_t>(chunks.tensor.size());
    fs->table.chunk = chunks.chunk;
    fs->constants =
        allocate(Shape{static_cast<std::int64_t>(sizeof(kernels::StepConstants))}, DType::kUInt8);
    fs->partials = allocate(Shape{std::max<std::int64_t>(1, fs->table.chunks)}, DType::kFloat64);
    fs->norm = zeros(Shape{1}, DType::kFloat64, dc, allocate);
    fs->scale = zeros(Shape{1}, DType::kFloat32, dc, allocate);
    // The state slots were made outside the executor (on the library's stream): the update
    // kernel uses them in the executor's order from now on.
    for (Tensor* slot : slot_tensors) use_on(*slot->storage(), dc.stream_ref);
    fs->key = key;
    fs->dc = &dc;
    ++dc.graph_epoch;  // graphs updating through the old tables are stale
  }
  auto* device_constants = static_cast<kernels::StepConstants*>(fs->constants.raw());
  MYELIN_LAUNCH(dc, kernels::launch_write_constants(device_constants, constants, dc.stream));
  if (part == UpdatePart::kAll) launch_update_kernels(dc, *fs, clipping);
  for (const ParamUpdate& u : updates) ++*u.step;
}

const double* fused_norm_device(const UpdateCache* cache) {
  const auto* fs = dynamic_cast<const FusedState*>(cache);
  return fs == nullptr || !fs->norm.defined() ? nullptr
                                              : static_cast<const double*>(fs->norm.raw());
}

}  // namespace myelin::cuda
