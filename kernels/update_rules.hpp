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

// The constants in another compute type (float for float parameters).
template <typename To, typename From>
UpdateConstants<To> constants_as(const UpdateConstants<From>& d) {
  UpdateConstants<To> k;
  k.rule = d.rule;
  k.lr = static_cast<To>(d.lr);
  k.grad_scale = static_cast<To>(d.grad_scale);
  k.grad_clip = static_cast<To>(d.grad_clip);
  k.l2 = static_cast<To>(d.l2);
  k.decay = static_cast<To>(d.decay);
  k.momentum = static_cast<To>(d.momentum);
  k.alpha = static_cast<To>(d.alpha);
  k.beta1 = static_cast<To>(d.beta1);
  k.beta2 = static_cast<To>(d.beta2);
  k.eps = static_cast<To>(d.eps);
  k.step_size = static_cast<To>(d.step_size);
  k.bias_correction2_sqrt = static_cast<To>(d.bias_correction2_sqrt);
  k.centered = d.centered;
  k.amsgrad = d.amsgrad;
  return k;
}

// Updates one element by rule R, known at compile time with the options that add a state slot,
// so that a loop over elements holds no branch on them and vectorises:
//   RMSprop: kS1 = momentum > 0 (s1, momentum_buffer), kS2 = centered (s2, grad_avg)
//   Adam: kS2 = amsgrad (s2, max_exp_avg_sq)
// The slots: momentum rules s0 = momentum_buffer; RMSprop s0 = square_avg; Adagrad s0 = sum;
// Adam s0 = exp_avg, s1 = exp_avg_sq.
template <UpdateRule R, bool kS1, bool kS2, typename C>
MYELIN_HOST_DEVICE inline void update_element_by(const UpdateConstants<C>& k, C& w, C g, C& s0,
                                                 C& s1, C& s2) {
  g = g * k.grad_scale;
  if (k.grad_clip > C(0)) g = g > k.grad_clip ? k.grad_clip : (g < -k.grad_clip ? -k.grad_clip : g);
  g = g + k.l2 * w;
  w = w * k.decay;
  if constexpr (R == UpdateRule::kSgd) {
    w -= k.lr * g;
  } else if constexpr (R == UpdateRule::kMomentum) {
    s0 = k.momentum * s0 + g;
    w -= k.lr * s0;
  } else if constexpr (R == UpdateRule::kMomentumEma) {
    s0 = k.momentum * s0 + (C(1) - k.momentum) * g;
    w -= k.lr * s0;
  } else if constexpr (R == UpdateRule::kNesterov) {
    s0 = k.momentum * s0 + g;
    w -= k.lr * (g + k.momentum * s0);
  } else if constexpr (R == UpdateRule::kRmsprop) {
    s0 = k.alpha * s0 + (C(1) - k.alpha) * g * g;
    C avg;
    if constexpr (kS2) {
      s2 = k.alpha * s2 + (C(1) - k.alpha) * g;
      avg = std::sqrt(s0 - s2 * s2) + k.eps;
    } else {
      avg = std::sqrt(s0) + k.eps;
    }
    if constexpr (kS1) {
      s1 = k.momentum * s1 + g / avg;
      w -= k.lr * s1;
    } else {
      w -= k.lr * g / avg;
    }
  } else if constexpr (R == UpdateRule::kAdagrad) {
    s0 += g * g;
    w -= k.step_size * g / (std::sqrt(s0) + k.eps);
  } else if constexpr (R == UpdateRule::kAdam) {
    s0 = k.beta1 * s0 + (C(1) - k.beta1) * g;
    s1 = k.beta2 * s1 + (C(1) - k.beta2) * g * g;
    C v = s1;
    if constexpr (kS2) {
      s2 = s2 > s1 ? s2 : s1;
      v = s2;
    }
    w -= k.step_size * s0 / (std::sqrt(v) / k.bias_correction2_sqrt + k.eps);
  }
}

// Calls f.template operator()<R, kS1, kS2>() with the rule and options of `k` (see
// update_element_by): the one switch from run-time options to compile-time ones.
template <typename C, typename F>
MYELIN_HOST_DEVICE inline void with_update_rule(const UpdateConstants<C>& k, F&& f) {
  switch (k.rule) {
    case UpdateRule::kSgd:
      f.template operator()<UpdateRule::kSgd, false, false>();
      break;
    case UpdateRule::kMomentum:
      f.template operator()<UpdateRule::kMomentum, false, false>();
      break;
    case UpdateRule::kMomentumEma:
      f.template operator()<UpdateRule::kMomentumEma, false, false>();
      break;
    case UpdateRule::kNesterov:
      f.template operator()<UpdateRule::kNesterov, false, false>();
      break;
    case UpdateRule::kRmsprop:
      if (k.momentum > C(0)) {
        if (k.centered) {
          f.template operator()<UpdateRule::kRmsprop, true, true>();
        } else {
          f.template operator()<UpdateRule::kRmsprop, true, false>();
        }
      } else if (k.centered) {
        f.template operator()<UpdateRule::kRmsprop, false, true>();
      } else {
        f.template operator()<UpdateRule::kRmsprop, false, false>();
      }
      break;
    case UpdateRule::kAdagrad:
      f.template operator()<UpdateRule::kAdagrad, false, false>();
      break;
    case UpdateRule::kAdam:
      if (k.amsgrad) {
        f.template operator()<UpdateRule::kAdam, false, true>();
      } else {
        f.template operator()<UpdateRule::kAdam, false, false>();
      }
      break;
  }
}

template <typename C>
struct ElementUpdate {
  const UpdateConstants<C>& k;
  C& w;
  C g;
  C& s0;
  C& s1;
  C& s2;
  template <UpdateRule R, bool kS1, bool kS2>
  MYELIN_HOST_DEVICE void operator()() const {
    update_element_by<R, kS1, kS2>(k, w, g, s0, s1, s2);
  }
};

// Updates one element with the rule and options read at run time.
template <typename C>
MYELIN_HOST_DEVICE inline void update_element(const UpdateConstants<C>& k, C& w, C g, C& s0, C& s1,
                                              C& s2) {
  with_update_rule(k, ElementUpdate<C>{k, w, g, s0, s1, s2});
}

}  // namespace myelin
