#pragma once

#include "myelin/executor.hpp"
#include "myelin/export.hpp"

namespace myelin {

// An optimizer updates the trainable parameters of an executor from their gradients.
class MYELIN_API Optimizer {
 public:
  virtual ~Optimizer();
  virtual void step(Executor& executor) = 0;
};

// Plain stochastic gradient descent: w <- w - lr * g.
class MYELIN_API Sgd : public Optimizer {
 public:
  explicit Sgd(double lr);
  void step(Executor& executor) override;
  double lr() const { return lr_; }
  void set_lr(double lr);

 private:
  double lr_;
};

}  // namespace myelin
