#pragma once

// The per-element optimizer update rules, shared by the CPU reference path and (compiled by
// nvcc) the fused CUDA optimizer, so that both apply literally the same formulas. C is the
// compute type: double on the CPU reference path, float on the GPU.

#include <cmath>

#include "myelin/host_device.hpp"

namespace myelin {

enum class UpdateRule : int {
  kSgd,
  kMomentum,     // v = m v + g
  kMomentumEma,  // v = m v + (1 - m) g
  kNesterov,
  kRmsprop,
  kAdagrad,
  kAdam,  // AdamW is Adam with decoupled decay
};

// Scalars of one group for one step, computed on the host.
template <typename C>
struct UpdateConstants {
  UpdateRule rule = UpdateRule::kSgd;
  C lr = 0;
  C grad_scale = 1;  // global-norm clipping factor applied to g
  C grad_clip = 0;   // then |g| <= grad_clip (0: off)
  C l2 = 0;          // g += l2 * w
  C decay = 1;       // w *= decay before the update: 1 - lr * weight_decay
  C momentum = 0;
  C alpha = 0;
  C beta1 = 0;
  C beta2 = 0;
  C eps = 0;
  C step_size = 0;              // Adam: lr / (1 - beta1^t); Adagrad: lr / (1 + (t - 1) lr_decay)
  C bias_correction2_sqrt = 1;  // Adam: sqrt(1 - beta2^t)
  bool centered = false;
  bool amsgrad = false;
};

// Updates one element. s0, s1, s2 are the rule's state slots:
//   momentum rules: s0 = momentum_buffer
//   RMSprop: s0 = square_avg, s1 = momentum_buffer, s2 = grad_avg
//   Adagrad: s0 = sum
//   Adam: s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq
template <typename C>
MYELIN_HOST_DEVICE inline void update_element(const UpdateConstants<C>& k, C& w, C g, C& s0, C& s1,
                                              C& s2) {
  g = g * k.grad_scale;
  if (k.grad_clip > C(0)) g = g > k.grad_clip ? k.grad_clip : (g < -k.grad_clip ? -k.grad_clip : g);
  g = g + k.l2 * w;
  w = w * k.decay;
  switch (k.rule) {
    case UpdateRule::kSgd:
      w -= k.lr * g;
      break;
    case UpdateRule::kMomentum:
      s0 = k.momentum * s0 + g;
      w -= k.lr * s0;
      break;
    case UpdateRule::kMomentumEma:
      s0 = k.momentum * s0 + (C(1) - k.momentum) * g;
      w -= k.lr * s0;
      break;
    case UpdateRule::kNesterov:
      s0 = k.momentum * s0 + g;
      w -= k.lr * (g + k.momentum * s0);
      break;
    case UpdateRule::kRmsprop: {
      s0 = k.alpha * s0 + (C(1) - k.alpha) * g * g;
      C avg;
      if (k.centered) {
        s2 = k.alpha * s2 + (C(1) - k.alpha) * g;
        avg = std::sqrt(s0 - s2 * s2) + k.eps;
      } else {
        avg = std::sqrt(s0) + k.eps;
      }
      if (k.momentum > C(0)) {
        s1 = k.momentum * s1 + g / avg;
        w -= k.lr * s1;
      } else {
        w -= k.lr * g / avg;
      }
      break;
    }
    case UpdateRule::kAdagrad:
      s0 += g * g;
      w -= k.step_size * g / (std::sqrt(s0) + k.eps);
      break;
    case UpdateRule::kAdam: {
      s0 = k.beta1 * s0 + (C(1) - k.beta1) * g;
      s1 = k.beta2 * s1 + (C(1) - k.beta2) * g * g;
      C v = s1;
      if (k.amsgrad) {
        s2 = s2 > s1 ? s2 : s1;
        v = s2;
      }
      w -= k.step_size * s0 / (std::sqrt(v) / k.bias_correction2_sqrt + k.eps);
      break;
    }
  }
}

}  // namespace myelin
