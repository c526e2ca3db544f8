#pragma once

#include "myelin/executor.hpp"
#include "myelin/export.hpp"
#include "myelin/optimizer.hpp"

namespace myelin {

// The global L2 norm of the gradients of all trainable parameters, sqrt(sum of g^2): the
// signal of vanishing and exploding gradients. Summed in a fixed order (same bits for any
// thread count).
MYELIN_API double global_grad_norm(Executor& executor);

// Scales all gradients by min(1, max_norm / (norm + 1e-6)) (torch.nn.utils.clip_grad_norm_);
// returns the norm before clipping.
MYELIN_API double clip_grad_norm(Executor& executor, double max_norm);

// Clamps every gradient element to [-limit, limit] (torch.nn.utils.clip_grad_value_).
MYELIN_API void clip_grad_value(Executor& executor, double limit);

// The L2 penalty sum over trainable parameters of (l2 / 2) ||w||^2, with each parameter's l2
// from its optimizer group: the term the reported loss includes. Its gradient, l2 * w, is
// added by the optimizer's update.
MYELIN_API double l2_penalty(Executor& executor, const Optimizer& optimizer);

}  // namespace myelin
