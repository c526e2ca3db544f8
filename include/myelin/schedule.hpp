#pragma once

#include <cstdint>
#include <string>

#include "myelin/export.hpp"

namespace myelin {

// A learning-rate schedule: a factor on every group's lr, as a function of the optimizer's step
// count (the number of updates made so far). Epoch-based forms use epoch = step /
// steps_per_epoch, in whole epochs as torch.optim.lr_scheduler does when stepped once per epoch
// (or fractional with `per_step`).
//
//   kConstant     1
//   kStep         gamma ^ floor(epoch / step_epochs)                    (StepLR)
//   kExponential  gamma ^ epoch                                         (ExponentialLR)
//   kInverseTime  1 / (1 + decay_rate * epoch)
//   kCosine       min_factor + (1 - min_factor) (1 + cos(pi epoch / cosine_epochs)) / 2,
//                 held at min_factor after cosine_epochs                (CosineAnnealingLR)
//
// Optional linear warm-up: for the first warmup_steps steps the factor is (step + 1) /
// warmup_steps; the schedule above then starts from its own step 0.
struct MYELIN_API LrSchedule {
  enum class Kind { kConstant, kStep, kExponential, kInverseTime, kCosine };
  Kind kind = Kind::kConstant;
  double gamma = 0.1;
  std::int64_t step_epochs = 1;
  double decay_rate = 1.0;
  std::int64_t cosine_epochs = 1;
  double min_factor = 0.0;
  std::int64_t warmup_steps = 0;
  std::int64_t steps_per_epoch = 1;
  bool per_step = false;

  static LrSchedule constant();
  static LrSchedule step(std::int64_t step_epochs, double gamma = 0.1);
  static LrSchedule exponential(double gamma);
  static LrSchedule inverse_time(double decay_rate);
  static LrSchedule cosine(std::int64_t cosine_epochs, double min_factor = 0.0);
  LrSchedule& with_warmup(std::int64_t steps);

  double factor(std::int64_t step) const;
  void validate() const;
  std::string str() const;
};

}  // namespace myelin
