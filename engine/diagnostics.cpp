// Warnings from training diagnostics, with the remedies the usual practice gives.
#include "myelin/diagnostics.hpp"

#include <cstdio>

namespace myelin {

namespace {

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2g", v);
  return text;
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f%%", 100.0 * fraction);
  return text;
}

}  // namespace

std::string diagnostic_remedy(const std::string& kind) {
  if (kind == "vanishing_gradients") {
    return "Try He (ReLU) or Xavier (tanh) initialisation, ReLU or tanh instead of sigmoid in "
           "hidden layers, batch norm, or a shallower network";
  }
  if (kind == "exploding_gradients") {
    return "Try smaller initial weights (He or Xavier), gradient clipping (clip_norm), a lower "
           "learning rate";
  }
  if (kind == "dead_relu") {
    return "Try leaky_relu, a lower learning rate, He initialisation, no negative bias init";
  }
  if (kind == "saturation") {
    return "Try smaller initial weights (Xavier), batch norm before the activation, or ReLU";
  }
  return "";
}

bool watched_activation(const std::string& op, double& low, double& high) {
  low = -INFINITY;
  high = INFINITY;
  if (op == "sigmoid") {
    low = 0.01;
    high = 0.99;
  } else if (op == "tanh") {
    low = -0.99;
    high = 0.99;
  }
  return op == "relu" || op == "leaky_relu" || op == "elu" || op == "gelu" || op == "sigmoid" ||
         op == "tanh";
}

std::vector<DiagnosticWarning> diagnostic_warnings(const Diagnostics& now,
                                                   const Diagnostics* previous,
                                                   const DiagnosticThresholds& t) {
  std::vector<DiagnosticWarning> out;
  // The layers' weights, input to output: how the gradient changes on its way back.
  std::vector<const ParameterDiagnostics*> weights;
  for (const ParameterDiagnostics& p : now.parameters) {
    if (p.rank >= 2) weights.push_back(&p);
  }
  if (weights.size() >= 2) {
    const ParameterDiagnostics& first = *weights.front();
    const ParameterDiagnostics& last = *weights.back();
    const double orders = std::log10(last.grad_norm / first.grad_norm);  // > 0: shrinking
    const std::string path = "the gradient norm goes from " + number(last.grad_norm) + " at " +
                             last.name + " (the output layer) to " + number(first.grad_norm) +
                             " at " + first.name + " (the first)";
    if (first.grad_norm == 0.0 && last.grad_norm > 0.0) {
      out.push_back({"vanishing_gradients", "vanishing gradients: " + path +
                                                ": the first layer does not learn. " +
                                                diagnostic_remedy("vanishing_gradients")});
    } else if (std::isfinite(orders) && orders >= t.gradient_orders) {
      out.push_back({"vanishing_gradients",
                     "vanishing gradients: " + path + ", " + number(orders) +
                         " orders of magnitude smaller: the early layers learn far more slowly. " +
                         diagnostic_remedy("vanishing_gradients")});
    } else if (std::isfinite(orders) && -orders >= t.gradient_orders) {
      out.push_back({"exploding_gradients", "exploding gradients: " + path + ", " +
                                                number(-orders) + " orders of magnitude larger. " +
                                                diagnostic_remedy("exploding_gradients")});
    }
  }
  if (previous != nullptr && previous->grad_norm > 0.0 &&
      now.grad_norm >= t.jump * previous->grad_norm) {
    out.push_back({"exploding_gradients",
                   "exploding gradients: the gradient norm jumped from " +
                       number(previous->grad_norm) + " at step " + std::to_string(previous->step) +
                       " to " + number(now.grad_norm) + " at step " + std::to_string(now.step) +
                       ". " + diagnostic_remedy("exploding_gradients")});
  }
  // One warning per kind, naming every layer it concerns.
  std::string dead, saturated;
  std::int64_t rows = 0;
  for (const ActivationDiagnostics& a : now.activations) {
    const std::string layer = "layer " + a.node + " (" + a.op + ")";
    if (std::isfinite(a.dead_fraction) && a.dead_fraction >= t.dead) {
      dead += (dead.empty() ? "" : ", ") + percent(a.dead_fraction) + " of the " +
              std::to_string(a.units) + " units of " + layer;
      rows = a.rows;
    }
    if (std::isfinite(a.saturated_fraction) && a.saturated_fraction >= t.saturated) {
      saturated += (saturated.empty() ? "" : ", ") + percent(a.saturated_fraction) +
                   " of the outputs of " + layer;
    }
  }
  if (!dead.empty()) {
    out.push_back({"dead_relu", "dead ReLUs: " + dead + " were not active on any of " +
                                    std::to_string(rows) + " rows, so they get no gradient. " +
                                    diagnostic_remedy("dead_relu")});
  }
  if (!saturated.empty()) {
    out.push_back({"saturation", "saturated units: " + saturated +
                                     " are in the flat tails, where the gradient nearly "
                                     "vanishes. " +
                                     diagnostic_remedy("saturation")});
  }
  return out;
}

}  // namespace myelin
