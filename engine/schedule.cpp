#include "myelin/schedule.hpp"

#include <cmath>
#include <sstream>

#include "myelin/error.hpp"

namespace myelin {

LrSchedule LrSchedule::constant() {
  return LrSchedule{};
}

LrSchedule LrSchedule::step(std::int64_t step_epochs, double gamma) {
  LrSchedule s;
  s.kind = Kind::kStep;
  s.step_epochs = step_epochs;
  s.gamma = gamma;
  s.validate();
  return s;
}

LrSchedule LrSchedule::exponential(double gamma) {
  LrSchedule s;
  s.kind = Kind::kExponential;
  s.gamma = gamma;
  s.validate();
  return s;
}

LrSchedule LrSchedule::inverse_time(double decay_rate) {
  LrSchedule s;
  s.kind = Kind::kInverseTime;
  s.decay_rate = decay_rate;
  s.validate();
  return s;
}

LrSchedule LrSchedule::cosine(std::int64_t cosine_epochs, double min_factor) {
  LrSchedule s;
  s.kind = Kind::kCosine;
  s.cosine_epochs = cosine_epochs;
  s.min_factor = min_factor;
  s.validate();
  return s;
}

LrSchedule& LrSchedule::with_warmup(std::int64_t steps) {
  warmup_steps = steps;
  validate();
  return *this;
}

void LrSchedule::validate() const {
  auto check = [](bool ok, const char* field, double value, const char* expected) {
    if (!ok)
      fail("learning-rate schedule: ", field, " = ", value, " is out of range (", expected, ")");
  };
  check(gamma > 0.0, "gamma", gamma, "> 0");
  check(step_epochs >= 1, "step_epochs", static_cast<double>(step_epochs), ">= 1");
  check(decay_rate >= 0.0, "decay_rate", decay_rate, ">= 0");
  check(cosine_epochs >= 1, "cosine_epochs", static_cast<double>(cosine_epochs), ">= 1");
  check(min_factor >= 0.0 && min_factor <= 1.0, "min_factor", min_factor, "in [0, 1]");
  check(warmup_steps >= 0, "warmup_steps", static_cast<double>(warmup_steps), ">= 0");
  check(steps_per_epoch >= 1, "steps_per_epoch", static_cast<double>(steps_per_epoch), ">= 1");
}

double LrSchedule::factor(std::int64_t step) const {
  if (step < 0) fail("learning-rate schedule: negative step ", step);
  if (step < warmup_steps) {
    return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
  }
  const std::int64_t s = step - warmup_steps;
  const double epoch = per_step ? static_cast<double>(s) / static_cast<double>(steps_per_epoch)
                                : static_cast<double>(s / steps_per_epoch);
  switch (kind) {
    case Kind::kConstant:
      return 1.0;
    case Kind::kStep:
      return std::pow(gamma, std::floor(epoch / static_cast<double>(step_epochs)));
    case Kind::kExponential:
      return std::pow(gamma, epoch);
    case Kind::kInverseTime:
      return 1.0 / (1.0 + decay_rate * epoch);
    case Kind::kCosine: {
      constexpr double kPi = 3.14159265358979323846;
      const double t = std::min(epoch, static_cast<double>(cosine_epochs));
      return min_factor + (1.0 - min_factor) *
                              (1.0 + std::cos(kPi * t / static_cast<double>(cosine_epochs))) / 2.0;
    }
  }
  return 1.0;
}

std::string LrSchedule::str() const {
  std::ostringstream out;
  switch (kind) {
    case Kind::kConstant:
      out << "constant";
      break;
    case Kind::kStep:
      out << "step(every " << step_epochs << " epochs, gamma " << gamma << ")";
      break;
    case Kind::kExponential:
      out << "exponential(gamma " << gamma << ")";
      break;
    case Kind::kInverseTime:
      out << "inverse_time(decay_rate " << decay_rate << ")";
      break;
    case Kind::kCosine:
      out << "cosine(" << cosine_epochs << " epochs, min factor " << min_factor << ")";
      break;
  }
  if (warmup_steps > 0) out << " after " << warmup_steps << " warm-up steps";
  return out.str();
}

}  // namespace myelin
