// The CUDA backend of an executor: a device context (stream, cuBLAS handles, device scalars),
// stream-ordered memory, uploads through pinned staging, the elementwise helpers and the fused
// optimizer update as kernels, and the step log that reads values back one update late.
#include "backends/backend.hpp"
#include "backends/cuda/cuda_ops.hpp"
#include "backends/cuda/cuda_runtime.hpp"
#include "backends/cuda/fused_optimizer.hpp"
#include "backends/cuda/graphs.hpp"
#include "backends/step_log.hpp"
#include "memory.hpp"

namespace myelin {

std::unique_ptr<ExecutionBackend> make_cuda_backend(const BackendOptions& options);

namespace {

class CudaScope final : public DeviceScopeGuard {
 public:
  explicit CudaScope(int device) : guard_(device) {}

 private:
  cuda::DeviceGuard guard_;
};

class CudaBackend final : public ExecutionBackend {
 public:
  explicit CudaBackend(const BackendOptions& options)
      : device_(options.device),
        dc_(cuda::make_device_context(options.device.index, options.allow_tf32,
                                      options.node_labels)) {}

  Backend kind() const override { return Backend::kCuda; }
  DeviceContext* context() override { return dc_.get(); }
  std::unique_ptr<DeviceScopeGuard> enter() override {
    return std::make_unique<CudaScope>(device_.index);
  }

  Tensor allocate(const Shape& shape, DType dtype, bool guarded) override {
    const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    // Device memory of the executor is allocated, used and freed in its own stream's order.
    std::shared_ptr<cuda::Stream> stream = cuda::stream_of(*dc_);
    return Tensor::wrap(guarded ? allocate_guarded_storage(device_, bytes, std::move(stream))
                                : allocate_storage(device_, bytes, std::move(stream)),
                        shape, dtype);
  }
  void upload(Tensor& dst, const Tensor& src, int slot) override {
    // In stream order: no wait for the device's current work.
    const bool on_device = src.device().is_cuda() && src.dtype() == dst.dtype();
    cuda::upload(*dc_, dst, on_device ? src : src.to(Device::cpu()).to(dst.dtype()), slot);
  }
  Tensor staging(int slot, const Shape& shape, DType dtype) override {
    return cuda::staging(*dc_, slot, shape, dtype);
  }
  void synchronize() override { cuda::synchronize(*dc_); }
  void begin_forward(std::uint64_t step) override { cuda::begin_forward(*dc_, step); }
  void begin_node(int node) override { cuda::begin_node(*dc_, node); }

  void accumulate(Tensor& dst, const Tensor& src) override { cuda::accumulate(*dc_, dst, src); }
  void zero(Tensor& t) override { cuda::zero(*dc_, t); }
  void scale(Tensor& t, double factor) override { cuda::scale(*dc_, t, factor); }
  void clamp(Tensor& t, double limit) override { cuda::clamp(*dc_, t, limit); }
  double sum_of_squares(const Tensor& t) override { return cuda::sum_of_squares(*dc_, t); }
  std::vector<double> column_statistics(const Tensor& x, std::int64_t rows, double low,
                                        double high) override {
    return cuda::column_statistics(*dc_, x, rows, low, high);
  }

  void update(const std::vector<ParamUpdate>& params, const GradientClipping& clipping,
              std::shared_ptr<UpdateCache>& cache, UpdatePart part) override {
    const cuda::DeviceAllocator allocate = [this](const Shape& shape, DType dtype) {
      return this->allocate(shape, dtype, false);
    };
    cuda::fused_update(*dc_, allocate, params, clipping, cache, part);
    last_norm_ = cuda::fused_norm_device(cache.get());
  }

  std::unique_ptr<StepLog> make_step_log(std::int64_t micro_batches) override {
    return cuda::make_step_log(*dc_, micro_batches, [this] { return last_norm_; });
  }

  bool supports_graphs() const override { return !dc_->sync_debug(); }
  void begin_capture() override { graphs_.begin(*dc_); }
  void end_capture(const std::string& key) override { graphs_.end(*dc_, key); }
  void abort_capture() noexcept override { graphs_.abort(*dc_); }
  bool has_graph(const std::string& key) override { return graphs_.has(*dc_, key); }
  void launch_graph(const std::string& key) override { graphs_.launch(*dc_, key); }
  void drop_graphs() override { graphs_.clear(); }

 private:
  Device device_;
  std::shared_ptr<DeviceContext> dc_;
  const double* last_norm_ = nullptr;  // device memory of the last update's norm
  cuda::GraphCache graphs_;            // destroyed before the context and its stream
};

}  // namespace

std::unique_ptr<ExecutionBackend> make_cuda_backend(const BackendOptions& options) {
  return std::make_unique<CudaBackend>(options);
}

}  // namespace myelin
