// The CUDA StepLog: each mini-batch's loss is copied (device to device, in stream order) into a
// slot of a small device buffer; after the update the slots, the gradient norm and the kernel
// error record go to pinned host memory with one asynchronous copy each, and an event marks
// them done. The loop reads an update's values once its event has completed: one update late,
// without waiting. Two sets of buffers alternate, so the copies of one update never overwrite
// values not read yet.
#include <deque>
#include <functional>
#include <vector>

#include "backends/cuda/context.hpp"
#include "backends/cuda/cuda_runtime.hpp"
#include "backends/step_log.hpp"

namespace myelin::cuda {

namespace {

struct HostSlot {
  float* losses = nullptr;              // pinned, micro_batches floats
  double* norm = nullptr;               // pinned
  DeviceErrorRecord* errors = nullptr;  // pinned
};

class DeviceStepLog final : public StepLog {
 public:
  DeviceStepLog(DeviceContext& dc, std::int64_t micro_batches,
                std::function<const double*()> norm_source)
      : dc_(dc), capacity_(micro_batches), norm_source_(std::move(norm_source)) {
    DeviceGuard guard(dc_.device);
    // Graphs captured with another step log copy into its buffers: they are stale now, and so
    // are this one's graphs once it is gone (release()).
    ++dc_.graph_epoch;
    const std::size_t loss_bytes = sizeof(float) * static_cast<std::size_t>(capacity_);
    try {
      for (int b = 0; b < 2; ++b) {
        MYELIN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&device_losses_[b]), loss_bytes));
        MYELIN_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&host_[b].losses), loss_bytes));
        MYELIN_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&host_[b].norm), sizeof(double)));
        MYELIN_CUDA_CHECK(
            cudaMallocHost(reinterpret_cast<void**>(&host_[b].errors), sizeof(DeviceErrorRecord)));
        MYELIN_CUDA_CHECK(cudaEventCreateWithFlags(&events_[b], cudaEventDisableTiming));
      }
    } catch (...) {
      release();
      throw;
    }
  }

  ~DeviceStepLog() override { release(); }

  void release() noexcept {
    ++dc_.graph_epoch;
    if (dc_.stream != nullptr) cudaStreamSynchronize(dc_.stream);
    for (int b = 0; b < 2; ++b) {
      cudaFree(device_losses_[b]);
      cudaFreeHost(host_[b].losses);
      cudaFreeHost(host_[b].norm);
      cudaFreeHost(host_[b].errors);
      if (events_[b] != nullptr) cudaEventDestroy(events_[b]);
      device_losses_[b] = nullptr;
      host_[b] = HostSlot{};
      events_[b] = nullptr;
    }
  }

  void make_room() override {
    if (weights_.empty() && pending_.size() == 2) finish(pending_.front(), /*keep=*/true);
  }

  void add_loss(const Tensor& loss, double weight) override {
    make_room();
    if (static_cast<std::int64_t>(weights_.size()) >= capacity_) {
      fail("step log: more than ", capacity_, " mini-batches in one update");
    }
    MYELIN_CUDA_CHECK(cudaMemcpyAsync(device_losses_[current_] + weights_.size(), loss.raw(),
                                      sizeof(float), cudaMemcpyDeviceToDevice, dc_.stream));
    weights_.push_back(weight);
  }

  int begin_graphed_update() override {
    make_room();
    return current_;
  }

  void replay_loss(double weight) override {
    if (static_cast<std::int64_t>(weights_.size()) >= capacity_) {
      fail("step log: more than ", capacity_, " mini-batches in one update");
    }
    weights_.push_back(weight);
  }

  void end_update() override {
    queue_update_copies();
    commit_update();
  }

  void queue_update_copies() override {
    DeviceGuard guard(dc_.device);
    HostSlot& h = host_[current_];
    MYELIN_CUDA_CHECK(cudaMemcpyAsync(h.losses, device_losses_[current_],
                                      sizeof(float) * weights_.size(), cudaMemcpyDeviceToHost,
                                      dc_.stream));
    const double* norm = norm_source_();
    if (norm != nullptr) {
      MYELIN_CUDA_CHECK(
          cudaMemcpyAsync(h.norm, norm, sizeof(double), cudaMemcpyDeviceToHost, dc_.stream));
    } else {
      *h.norm = 0.0;
    }
    MYELIN_CUDA_CHECK(cudaMemcpyAsync(h.errors, dc_.errors, sizeof(DeviceErrorRecord),
                                      cudaMemcpyDeviceToHost, dc_.stream));
  }

  void commit_update() override {
    DeviceGuard guard(dc_.device);
    MYELIN_CUDA_CHECK(cudaEventRecord(events_[current_], dc_.stream));
    pending_.push_back(Pending{current_, weights_});
    weights_.clear();
    current_ ^= 1;
  }

  bool take(double& loss, double& grad_norm, bool wait) override {
    if (!ready_.empty()) {
      loss = ready_.front().first;
      grad_norm = ready_.front().second;
      ready_.pop_front();
      return true;
    }
    if (pending_.empty()) return false;
    // Without `wait`, a query that finds the update done spares the call that would wait for it.
    const bool done = !wait && query(events_[pending_.front().buffer], "the step log's readback");
    if (!wait && !done) return false;
    finish(pending_.front(), /*keep=*/false, done);
    loss = taken_.first;
    grad_norm = taken_.second;
    return true;
  }

 private:
  struct Pending {
    int buffer;
    std::vector<double> weights;
  };

  // Waits for the oldest pending update (unless `done`: its event has completed) and reads it
  // (into ready_ when `keep`).
  void finish(const Pending& p, bool keep, bool done = false) {
    if (!done) MYELIN_CUDA_CHECK(cudaEventSynchronize(events_[p.buffer]));
    const HostSlot& h = host_[p.buffer];
    if (h.errors->code != 0) dc_.synchronize();  // raises the recorded error, naming the node
    double loss = 0.0;
    for (std::size_t k = 0; k < p.weights.size(); ++k) loss += p.weights[k] * h.losses[k];
    const std::pair<double, double> values{loss, *h.norm};
    pending_.pop_front();
    if (keep) {
      ready_.push_back(values);
    } else {
      taken_ = values;
    }
  }

  DeviceContext& dc_;
  std::int64_t capacity_;
  std::function<const double*()> norm_source_;
  float* device_losses_[2] = {nullptr, nullptr};
  HostSlot host_[2];
  cudaEvent_t events_[2] = {nullptr, nullptr};
  int current_ = 0;
  std::vector<double> weights_;
  std::deque<Pending> pending_;
  std::deque<std::pair<double, double>> ready_;
  std::pair<double, double> taken_{0.0, 0.0};
};

}  // namespace

std::unique_ptr<StepLog> make_step_log(DeviceContext& dc, std::int64_t micro_batches,
                                       std::function<const double*()> norm_source) {
  return std::make_unique<DeviceStepLog>(dc, micro_batches, std::move(norm_source));
}

}  // namespace myelin::cuda
