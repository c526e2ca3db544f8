#pragma once

// Training diagnostics: what a network's gradients, weights and activations look like at a
// step, and warnings with the usual remedies: vanishing and exploding gradients, dead ReLUs,
// saturated sigmoid and tanh units. Trainer computes them every TrainOptions::diagnostics_every
// steps (on the device on CUDA, reading back a few numbers per tensor).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "myelin/export.hpp"

namespace myelin {

struct ParameterDiagnostics {
  std::string name;          // "0.weight"
  int rank = 0;              // of the tensor: weights of layers have rank 2 and more
  double grad_norm = 0.0;    // L2 norm of its gradient, before clipping
  double weight_norm = 0.0;  // before the update
  // ||update|| / ||weight||: how far the step moved it (about 1e-3 is healthy; NaN when the
  // weight norm is 0).
  double update_ratio = 0.0;
};

struct ActivationDiagnostics {
  std::string node;  // the activation's node name (a spec's layer index)
  std::string op;    // relu, sigmoid, tanh, ...
  std::int64_t rows = 0, units = 0;
  double mean = 0.0, std = 0.0;  // over every entry of the batch
  // relu: the fraction of units not active (> 0) on any row of the batch; NaN for other ops.
  double dead_fraction = NAN;
  // sigmoid (outside [0.01, 0.99]) and tanh (|y| > 0.99): the fraction of entries in the flat
  // tails, where the gradient nearly vanishes; NaN for other ops.
  double saturated_fraction = NAN;
};

struct Diagnostics {
  std::int64_t step = 0;                           // the update they describe
  std::int64_t epoch = 0;                          // 0-based
  double grad_norm = 0.0;                          // global, over the trainable parameters
  std::vector<ParameterDiagnostics> parameters;    // trainable ones, graph order
  std::vector<ActivationDiagnostics> activations;  // graph order (input to output)
};

struct DiagnosticWarning {
  std::string kind;     // vanishing_gradients, exploding_gradients, dead_relu, saturation
  std::string message;  // what was seen and the usual remedies
};

struct DiagnosticThresholds {
  // Gradient norms of the layers' weights from the output layer back to the first changing by
  // this many orders of magnitude: falling, vanishing; rising, exploding.
  double gradient_orders = 3.0;
  double jump = 100.0;     // the global gradient norm growing this many times since `previous`
  double dead = 0.5;       // a relu layer with this fraction of its units dead
  double saturated = 0.5;  // a sigmoid or tanh layer with this fraction of entries in the tails
};

// The usual remedies for a kind of warning, one sentence ("Try ..."); empty for an unknown kind.
MYELIN_API std::string diagnostic_remedy(const std::string& kind);

// The warnings `now` calls for (`previous`: the diagnostics before, for jumps).
MYELIN_API std::vector<DiagnosticWarning> diagnostic_warnings(
    const Diagnostics& now, const Diagnostics* previous = nullptr,
    const DiagnosticThresholds& thresholds = {});

// The activation ops diagnostics watch, and the tails that count as saturated for each
// (low, high: -inf, inf for none).
MYELIN_API bool watched_activation(const std::string& op, double& low, double& high);

}  // namespace myelin
