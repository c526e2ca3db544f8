#include "myelin/regularize.hpp"

#include <cmath>

#include "backends/backend.hpp"
#include "myelin/error.hpp"

namespace myelin {

double global_grad_norm(Executor& executor) {
  double sum = 0.0;
  for (Value p : executor.trainable_parameters()) {
    sum += executor.execution_backend().sum_of_squares(executor.grad(p));
  }
  return std::sqrt(sum);
}

double clip_grad_norm(Executor& executor, double max_norm) {
  if (!(max_norm > 0.0)) fail("clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = global_grad_norm(executor);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    for (Value p : executor.trainable_parameters()) {
      executor.execution_backend().scale(executor.grad(p), scale);
    }
  }
  return norm;
}

void clip_grad_value(Executor& executor, double limit) {
  if (!(limit > 0.0)) fail("clip_grad_value: the limit must be positive, got ", limit);
  for (Value p : executor.trainable_parameters()) {
    executor.execution_backend().clamp(executor.grad(p), limit);
  }
}

double l2_penalty(Executor& executor, const Optimizer& optimizer) {
  double penalty = 0.0;
  const Graph& g = executor.graph();
  for (Value p : executor.trainable_parameters()) {
    const double l2 = optimizer.group(g.info(p).group).l2;
    if (l2 > 0.0)
      penalty += 0.5 * l2 * executor.execution_backend().sum_of_squares(executor.param(p));
  }
  return penalty;
}

}  // namespace myelin
