#include "myelin/regularize.hpp"

#include <cmath>

#include "backends/backend.hpp"
#include "executor_impl.hpp"
#include "myelin/error.hpp"

namespace myelin {

double global_grad_norm(Executor& executor) {
  double sum = 0.0;
  for (Value p : executor.trainable_parameters()) {
    sum += backend::sum_of_squares(executor.backend(), executor.grad(p),
                                   ExecutorAccess::device(executor));
  }
  return std::sqrt(sum);
}

double clip_grad_norm(Executor& executor, double max_norm) {
  if (!(max_norm > 0.0)) fail("clip_grad_norm: max_norm must be positive, got ", max_norm);
  const double norm = global_grad_norm(executor);
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) {
    for (Value p : executor.trainable_parameters()) {
      backend::scale(executor.backend(), executor.grad(p), scale, ExecutorAccess::device(executor));
    }
  }
  return norm;
}

void clip_grad_value(Executor& executor, double limit) {
  if (!(limit > 0.0)) fail("clip_grad_value: the limit must be positive, got ", limit);
  for (Value p : executor.trainable_parameters()) {
    backend::clamp(executor.backend(), executor.grad(p), limit, ExecutorAccess::device(executor));
  }
}

double l2_penalty(Executor& executor, const Optimizer& optimizer) {
  double penalty = 0.0;
  const Graph& g = executor.graph();
  for (Value p : executor.trainable_parameters()) {
    const double l2 = optimizer.group(g.info(p).group).l2;
    if (l2 > 0.0)
      penalty += 0.5 * l2 *
                 backend::sum_of_squares(executor.backend(), executor.param(p),
                                         ExecutorAccess::device(executor));
  }
  return penalty;
}

}  // namespace myelin
