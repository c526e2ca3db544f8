#include "backends/step_log.hpp"

#include <deque>
#include <utility>

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_runtime.hpp"
#include "executor_impl.hpp"
#endif

namespace myelin {

StepLog::~StepLog() = default;

namespace {

class HostStepLog final : public StepLog {
 public:
  void add_loss(const Tensor& loss, double weight) override { loss_ += weight * loss.item(); }
  void end_update(const Optimizer& optimizer) override {
    done_.emplace_back(loss_, optimizer.last_grad_norm());
    loss_ = 0.0;
  }
  bool take(double& loss, double& grad_norm, bool /*wait*/) override {
    if (done_.empty()) return false;
    std::tie(loss, grad_norm) = done_.front();
    done_.pop_front();
    return true;
  }

 private:
  double loss_ = 0.0;
  std::deque<std::pair<double, double>> done_;
};

}  // namespace

std::unique_ptr<StepLog> make_step_log(Executor& executor, std::int64_t micro_batches) {
#if defined(MYELIN_WITH_CUDA)
  if (executor.backend() == Backend::kCuda) {
    return cuda::make_step_log(*ExecutorAccess::device(executor), micro_batches);
  }
#else
  (void)micro_batches;
#endif
  (void)executor;
  return std::make_unique<HostStepLog>();
}

}  // namespace myelin
