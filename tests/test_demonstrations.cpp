// Learning demonstrations on real learning problems, each with its threshold stated here.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct SpiralNet {
  Graph g;
  Value x, y, logits, loss;
  SpiralNet(std::uint64_t seed, std::int64_t batch, std::int64_t hidden = 64) : g(seed) {
    x = g.input("x", Shape{batch, 2});
    y = g.input("y", Shape{batch}, DType::kInt64);
    Value h = g.tanh(g.linear_layer(x, hidden, {}, "fc1"));
    h = g.tanh(g.linear_layer(h, hidden, {}, "fc2"));
    logits = g.linear_layer(h, 2, {}, "fc3");
    loss = g.softmax_cross_entropy(logits, y);
  }
};

// Trains with mini-batches of 50 for `epochs`; returns the final training loss and accuracy
// on the whole set in eval mode.
std::pair<double, double> train_spirals(const OptimizerOptions& optimizer, std::uint64_t seed,
                                        std::int64_t epochs) {
  const Dataset data = make_spirals(500, 2, 1.5, 0.02, seed);
  SpiralNet net(seed, 50);
  Optimizer opt(optimizer);
  TrainOptions options;
  options.batch_size = 50;
  options.epochs = epochs;
  options.seed = seed;
  Trainer trainer(net.g, net.loss, opt, options);
  trainer.fit({{net.x, data.x}, {net.y, data.y}});

  SpiralNet eval(seed, 1000);
  Executor e(eval.g);
  for (Value p : net.g.parameters())
    eval.g.tensor(eval.g.find(net.g.name(p))).copy_from(net.g.tensor(p));
  e.set_input(eval.x, data.x);
  e.set_input(eval.y, data.y);
  e.forward(Mode::kEval);
  return {e.value(eval.loss).item(), accuracy(e.value(eval.logits), data.y)};
}

TEST(Demonstrations, SpiralsWithAdamReach97PercentTrainingAccuracy) {
  // Budget: 100 epochs of 20 updates (2,000 Adam steps at lr 3e-3); about 99.7% is reached.
  const auto [loss, acc] = train_spirals(OptimizerOptions::adam(3e-3), 0, 100);
  std::cout << "spirals, Adam: training loss " << loss << ", accuracy " << acc << "\n";
  EXPECT_GE(acc, 0.97);
}

TEST(Demonstrations, AdamBeatsSgdAtTheirDefaultLearningRates) {
  // Adam at 1e-3 against plain SGD at 1e-2 (the customary defaults), 3,000 updates each.
  for (std::uint64_t seed : {1, 2, 3}) {
    const double adam = train_spirals(OptimizerOptions::adam(1e-3), seed, 150).first;
    const double sgd = train_spirals(OptimizerOptions::sgd(1e-2), seed, 150).first;
    std::cout << "seed " << seed << ": Adam loss " << adam << ", SGD loss " << sgd << "\n";
    EXPECT_LT(adam, sgd) << "seed " << seed;
  }
}

// A deep ReLU network whose weights are three times too large: activations and gradients grow
// by about 3/sqrt(2) per layer.
struct DeepNet {
  Graph g{4};
  Value x, y, loss;
  DeepNet() {
    x = g.input("x", Shape{100, 2});
    y = g.input("y", Shape{100}, DType::kInt64);
    Value h = x;
    const LinearOptions large{true, Init::kaiming_normal(Nonlinearity::kRelu), Init::zeros()};
    for (int layer = 0; layer < 10; ++layer) {
      h = g.relu(g.linear_layer(h, 32, large, "fc" + std::to_string(layer)));
      g.initialize(g.find("fc" + std::to_string(layer) + ".weight"),
                   Init::normal(0.0, 3.0 * std::sqrt(2.0 / (layer == 0 ? 2.0 : 32.0))));
    }
    loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "out"), y);
  }
};

std::vector<double> train_deep(double clip_norm) {
  const Dataset data = make_spirals(50, 2, 0.5, 0.05, 4);
  DeepNet net;
  Optimizer opt(OptimizerOptions::sgd(0.01));
  TrainOptions options;
  options.batch_size = 100;
  options.epochs = 30;
  options.clip_norm = clip_norm;
  Trainer trainer(net.g, net.loss, opt, options);
  std::vector<double> losses;
  double first_norm = 0;
  trainer.on_step = [&](const StepInfo& s) {
    losses.push_back(s.loss);
    if (s.step == 1) first_norm = s.grad_norm;
  };
  try {
    trainer.fit({{net.x, data.x}, {net.y, data.y}});
  } catch (const NonFiniteError& e) {
    // The default policy stops a diverging run at its first non-finite step, which on_step saw.
    std::cout << e.what() << "\n";
  }
  std::cout << (clip_norm > 0 ? "with" : "without") << " clipping: first gradient norm "
            << first_norm << ", loss " << losses.front() << " -> " << losses.back() << "\n";
  return losses;
}

TEST(Demonstrations, ClippingTamesExplodingGradients) {
  const std::vector<double> free = train_deep(0.0);
  const double start = free.front();
  double worst = 0;
  for (double l : free) worst = std::isfinite(l) ? std::max(worst, l) : INFINITY;
  // Without clipping the loss becomes non-finite or grows tenfold.
  EXPECT_TRUE(!std::isfinite(worst) || worst >= 10.0 * start) << "worst " << worst;
  // With the global norm clipped to 1 it ends below where it started.
  const std::vector<double> clipped = train_deep(1.0);
  EXPECT_DOUBLE_EQ(clipped.front(), start);  // same model, same first batch
  EXPECT_LT(clipped.back(), start);
}

// --- Diagnostics: what the founding document teaches to look for, seen by the trainer ---------

// A deep MLP on spirals (10 hidden layers of 64) with one activation and initialisation, trained
// for two steps with diagnostics at each: the warnings of the first step.
std::vector<DiagnosticWarning> first_warnings(const std::string& activation, const Init& init,
                                              double bias = 0.0, Diagnostics* seen = nullptr) {
  const Dataset data = make_spirals(64, 2, 1.0, 0.05, 9);
  Graph g(21);
  const Value x = g.input("x", Shape{128, 2});
  const Value y = g.input("y", Shape{128}, DType::kInt64);
  Value h = x;
  for (int layer = 0; layer < 10; ++layer) {
    h = g.linear_layer(h, 64, LinearOptions{true, init, Init::constant(bias)},
                       "fc" + std::to_string(layer));
    h = activation == "sigmoid" ? g.sigmoid(h) : activation == "tanh" ? g.tanh(h) : g.relu(h);
  }
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "out"), y);
  Optimizer opt(OptimizerOptions::sgd(0.01));
  TrainOptions options;
  options.batch_size = 128;
  options.epochs = 2;
  options.diagnostics_every = 1;
  Trainer trainer(g, loss, opt, options);
  std::vector<Diagnostics> all;
  trainer.on_diagnostics = [&](const Diagnostics& d) { all.push_back(d); };
  trainer.fit({{x, data.x}, {y, data.y}});
  EXPECT_EQ(all.size(), 2u);  // every step
  if (all.empty()) return {};
  const Diagnostics& d = all.front();
  EXPECT_EQ(d.parameters.size(), 22u);   // 11 weights and biases
  EXPECT_EQ(d.activations.size(), 10u);  // one per hidden layer
  if (seen != nullptr) *seen = d;
  const std::vector<DiagnosticWarning> warnings = diagnostic_warnings(d);
  std::cout << activation << ": " << warnings.size() << " warnings\n";
  for (const DiagnosticWarning& w : warnings) std::cout << "  " << w.message << "\n";
  return warnings;
}

bool has(const std::vector<DiagnosticWarning>& warnings, const std::string& kind) {
  for (const DiagnosticWarning& w : warnings) {
    if (w.kind == kind) return true;
  }
  return false;
}

// Sigmoid hidden layers scale each gradient by at most 1/4 on its way back: ten of them leave
// the first layer's gradient orders of magnitude below the last's (measured: over 3 orders, the
// threshold). Tanh with Xavier initialisation, and ReLU with He, keep it within one.
TEST(Demonstrations, DeepSigmoidNetsHaveVanishingGradients) {
  Diagnostics sigmoid;
  EXPECT_TRUE(
      has(first_warnings("sigmoid", Init::xavier_normal(), 0.0, &sigmoid), "vanishing_gradients"));
  EXPECT_LT(sigmoid.parameters.front().grad_norm, 1e-3 * sigmoid.parameters[20].grad_norm);
  for (const auto& [activation, init] :
       {std::pair<std::string, Init>{"tanh", Init::xavier_normal()},
        std::pair<std::string, Init>{"relu", Init::kaiming_normal(Nonlinearity::kRelu)}}) {
    const std::vector<DiagnosticWarning> w = first_warnings(activation, init);
    EXPECT_FALSE(has(w, "vanishing_gradients")) << activation;
    EXPECT_FALSE(has(w, "exploding_gradients")) << activation;
  }
}

// A large negative bias puts every ReLU below zero for every input: the units are dead.
TEST(Demonstrations, ALargeNegativeBiasKillsReluUnits) {
  Diagnostics seen;
  EXPECT_TRUE(has(first_warnings("relu", Init::kaiming_normal(Nonlinearity::kRelu), -3.0, &seen),
                  "dead_relu"));
  EXPECT_GE(seen.activations.back().dead_fraction, 0.9);
  EXPECT_FALSE(has(first_warnings("relu", Init::kaiming_normal(Nonlinearity::kRelu)), "dead_relu"));
}

// Weights of N(0, 1000) drive tanh into its flat tails: nearly every output is +-1.
TEST(Demonstrations, HugeInitialWeightsSaturateTanh) {
  Diagnostics seen;
  EXPECT_TRUE(has(first_warnings("tanh", Init::normal(0.0, 1000.0), 0.0, &seen), "saturation"));
  EXPECT_GE(seen.activations.back().saturated_fraction, 0.9);
  EXPECT_FALSE(has(first_warnings("tanh", Init::xavier_normal()), "saturation"));
}

}  // namespace
}  // namespace myelin
