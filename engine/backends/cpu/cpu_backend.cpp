// The CPU backend: host memory, synchronous execution, the reference elementwise helpers and
// optimizer update. Values read back at once.
#include <cmath>
#include <deque>
#include <utility>

#include "backends/backend.hpp"
#include "backends/cpu/cpu_ops.hpp"
#include "backends/step_log.hpp"
#include "memory.hpp"

namespace myelin {

std::unique_ptr<ExecutionBackend> make_cpu_backend();

namespace {

class CpuUpdateCache final : public UpdateCache {
 public:
  double last_norm() const override { return norm; }
  double norm = 0.0;
};

class HostStepLog final : public StepLog {
 public:
  explicit HostStepLog(const double& last_norm) : last_norm_(last_norm) {}
  void add_loss(const Tensor& loss, double weight) override { loss_ += weight * loss.item(); }
  void end_update() override {
    done_.emplace_back(loss_, last_norm_);
    loss_ = 0.0;
  }
  bool take(double& loss, double& grad_norm, bool /*wait*/) override {
    if (done_.empty()) return false;
    std::tie(loss, grad_norm) = done_.front();
    done_.pop_front();
    return true;
  }

 private:
  const double& last_norm_;
  double loss_ = 0.0;
  std::deque<std::pair<double, double>> done_;
};

class CpuBackend final : public ExecutionBackend {
 public:
  Backend kind() const override { return Backend::kCpu; }
  DeviceContext* context() override { return nullptr; }
  std::unique_ptr<DeviceScopeGuard> enter() override { return nullptr; }

  Tensor allocate(const Shape& shape, DType dtype, bool guarded) override {
    const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
    return Tensor::wrap(guarded ? allocate_guarded_storage(Device::cpu(), bytes)
                                : allocate_storage(Device::cpu(), bytes),
                        shape, dtype);
  }
  void upload(Tensor& dst, const Tensor& src, int /*slot*/) override { dst.copy_from(src); }
  void synchronize() override {}
  void begin_forward(std::uint64_t /*step*/) override {}
  void begin_node(int /*node*/) override {}

  void accumulate(Tensor& dst, const Tensor& src) override { cpu::accumulate(dst, src); }
  void zero(Tensor& t) override { t.zero(); }
  void scale(Tensor& t, double factor) override { cpu::scale(t, factor); }
  void clamp(Tensor& t, double limit) override { cpu::clamp(t, limit); }
  double sum_of_squares(const Tensor& t) override { return cpu::sum_of_squares(t); }
  std::vector<double> column_statistics(const Tensor& x, std::int64_t rows, double low,
                                        double high) override {
    const std::int64_t columns = rows > 0 ? x.numel() / rows : 0;
    std::vector<double> out(static_cast<std::size_t>(4 * columns), 0.0);
    const std::vector<float> v = x.to_vector<float>();  // as the CUDA kernel reads it
    const auto lo = static_cast<float>(low), hi = static_cast<float>(high);
    for (std::int64_t c = 0; c < columns; ++c) {
      double* o = out.data() + 4 * c;
      for (std::int64_t r = 0; r < rows; ++r) {
        const float e = v[static_cast<std::size_t>(r * columns + c)];
        o[0] += e > 0.0f ? 1.0 : 0.0;
        o[1] += (e < lo || e > hi) ? 1.0 : 0.0;
        o[2] += static_cast<double>(e);
        o[3] += static_cast<double>(e) * static_cast<double>(e);
      }
    }
    return out;
  }

  void update(const std::vector<ParamUpdate>& params, const GradientClipping& clipping,
              std::shared_ptr<UpdateCache>& cache, UpdatePart part) override {
    if (part != UpdatePart::kAll) fail("the CPU backend updates in one part");
    auto* host_cache = dynamic_cast<CpuUpdateCache*>(cache.get());
    if (host_cache == nullptr) {
      auto made = std::make_shared<CpuUpdateCache>();
      host_cache = made.get();
      cache = std::move(made);
    }
    // The norm, then clipping in place, then the rule: the order of clip_grad_norm,
    // clip_grad_value and a per-tensor step.
    double sum = 0.0;
    for (const ParamUpdate& p : params) sum += cpu::sum_of_squares(*p.grad);
    const double norm = std::sqrt(sum);
    host_cache->norm = norm;
    last_norm_ = norm;
    if (!std::isfinite(norm)) {  // a diverged step changes nothing, as on the device
      for (const ParamUpdate& p : params) ++*p.step;
      return;
    }
    if (clipping.max_norm > 0.0) {
      const double factor = clipping.max_norm / (norm + 1e-6);
      if (factor < 1.0) {
        for (const ParamUpdate& p : params) cpu::scale(*p.grad, factor);
      }
    }
    if (clipping.max_value > 0.0) {
      for (const ParamUpdate& p : params) cpu::clamp(*p.grad, clipping.max_value);
    }
    for (const ParamUpdate& p : params) {
      cpu::optimizer_update(p.constants, *p.value, *p.grad, p.slots);
      ++*p.step;
    }
  }

  std::unique_ptr<StepLog> make_step_log(std::int64_t /*micro_batches*/) override {
    return std::make_unique<HostStepLog>(last_norm_);
  }

 private:
  double last_norm_ = 0.0;
};

}  // namespace

std::unique_ptr<ExecutionBackend> make_cpu_backend() {
  return std::make_unique<CpuBackend>();
}

}  // namespace myelin
