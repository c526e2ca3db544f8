#include "myelin/optimizer.hpp"

#include "backends/backend.hpp"
#include "myelin/error.hpp"

namespace myelin {

Optimizer::~Optimizer() = default;

Sgd::Sgd(double lr) : lr_(0.0) {
  set_lr(lr);
}

void Sgd::set_lr(double lr) {
  if (!(lr >= 0.0)) fail("SGD: the learning rate must be >= 0, got ", lr);
  lr_ = lr;
}

void Sgd::step(Executor& executor) {
  for (Value p : executor.trainable_parameters()) {
    backend::sgd_update(executor.backend(), executor.param(p), executor.grad(p), lr_, nullptr);
  }
}

}  // namespace myelin
