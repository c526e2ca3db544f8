// Every optimizer against its published update rule (torch.optim's documentation), written out
// here independently, for its first three steps with non-default hyper-parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using Vec = std::vector<double>;

const Vec kStart = {0.5, -1.0, 2.0, 0.0, -0.3};
const std::vector<Vec> kGrads = {
    {0.1, -0.2, 0.3, 0.05, -1.0}, {-0.4, 0.1, 0.2, 0.0, 0.5}, {0.25, 0.25, -0.6, 1.5, 0.1}};

// Runs three steps of `options` on a float64 parameter fed the gradients above, in group
// `group`; returns the parameter after each step.
std::vector<Vec> run_steps(const OptimizerOptions& options, const std::string& group = "weights") {
  Optimizer opt(options);
  Tensor w = Tensor::from_vector<double>(Shape{5}, kStart);
  std::vector<Vec> out;
  for (const Vec& g : kGrads) {
    Tensor grad = Tensor::from_vector<double>(Shape{5}, g);
    opt.step({{"w", group, &w, &grad}});
    out.push_back(w.to_vector<double>());
  }
  return out;
}

// Checks the optimizer against `reference`, which gets (w, g, step t from 1) for each element
// and updates w and its own state.
void expect_rule(const OptimizerOptions& options,
                 const std::function<void(std::vector<double>& w, const Vec& g, int t)>& reference,
                 const std::string& label) {
  const std::vector<Vec> got = run_steps(options);
  Vec w = kStart;
  for (int t = 1; t <= 3; ++t) {
    reference(w, kGrads[static_cast<std::size_t>(t - 1)], t);
    for (std::size_t i = 0; i < w.size(); ++i) {
      // Same formula in double, operations possibly in another order: a few ulps.
      EXPECT_NEAR(got[static_cast<std::size_t>(t - 1)][i], w[i],
                  1e-13 * std::max(1.0, std::abs(w[i])))
          << label << " step " << t << " element " << i;
    }
  }
}

TEST(Optimizers, PlainSgd) {
  const double lr = 0.3;
  expect_rule(
      OptimizerOptions::sgd(lr),
      [&](Vec& w, const Vec& g, int) {
        for (std::size_t i = 0; i < w.size(); ++i) w[i] -= lr * g[i];
      },
      "sgd");
}

TEST(Optimizers, SgdWithL2PenaltyAsTorchWeightDecay) {
  OptimizerOptions o = OptimizerOptions::sgd(0.2);
  o.l2 = 0.05;
  expect_rule(
      o,
      [&](Vec& w, const Vec& g, int) {
        for (std::size_t i = 0; i < w.size(); ++i) w[i] -= 0.2 * (g[i] + 0.05 * w[i]);
      },
      "sgd l2");
}

TEST(Optimizers, ClassicMomentum) {
  // torch.optim.SGD(momentum=0.8, dampening=0): b_1 = g_1, b_t = 0.8 b_{t-1} + g_t.
  Vec b(5, 0.0);
  expect_rule(
      OptimizerOptions::momentum_sgd(0.1, 0.8),
      [&](Vec& w, const Vec& g, int t) {
        for (std::size_t i = 0; i < w.size(); ++i) {
          b[i] = t == 1 ? g[i] : 0.8 * b[i] + g[i];
          w[i] -= 0.1 * b[i];
        }
      },
      "momentum");
}

TEST(Optimizers, ExponentiallyWeightedMomentum) {
  // v_t = beta v_{t-1} + (1 - beta) g_t, v_0 = 0; w -= lr v_t.
  Vec v(5, 0.0);
  expect_rule(
      OptimizerOptions::momentum_ema(0.5, 0.7),
      [&](Vec& w, const Vec& g, int) {
        for (std::size_t i = 0; i < w.size(); ++i) {
          v[i] = 0.7 * v[i] + 0.3 * g[i];
          w[i] -= 0.5 * v[i];
        }
      },
      "momentum_ema");
}

TEST(Optimizers, Nesterov) {
  // torch: b_t = mu b_{t-1} + g_t (b_1 = g_1); step direction g_t + mu b_t.
  Vec b(5, 0.0);
  expect_rule(
      OptimizerOptions::nesterov(0.05, 0.85),
      [&](Vec& w, const Vec& g, int t) {
        for (std::size_t i = 0; i < w.size(); ++i) {
          b[i] = t == 1 ? g[i] : 0.85 * b[i] + g[i];
          w[i] -= 0.05 * (g[i] + 0.85 * b[i]);
        }
      },
      "nesterov");
}

TEST(Optimizers, Rmsprop) {
  // v_t = alpha v + (1 - alpha) g^2; w -= lr g / (sqrt(v_t) + eps), eps outside the root.
  Vec v(5, 0.0);
  expect_rule(
      OptimizerOptions::rmsprop(0.02, 0.9, 1e-3),
      [&](Vec& w, const Vec& g, int) {
        for (std::size_t i = 0; i < w.size(); ++i) {
          v[i] = 0.9 * v[i] + 0.1 * g[i] * g[i];
          w[i] -= 0.02 * g[i] / (std::sqrt(v[i]) + 1e-3);
        }
      },
      "rmsprop");
}

TEST(Optimizers, RmspropCenteredWithMomentum) {
  OptimizerOptions o = OptimizerOptions::rmsprop(0.01, 0.95, 1e-4);
  o.centered = true;
  o.momentum = 0.6;
  Vec v(5, 0.0), gbar(5, 0.0), buf(5, 0.0);
  expect_rule(
      o,
      [&](Vec& w, const Vec& g, int) {
        for (std::size_t i = 0; i < w.size(); ++i) {
          v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
          gbar[i] = 0.95 * gbar[i] + 0.05 * g[i];
          const double avg = std::sqrt(v[i] - gbar[i] * gbar[i]) + 1e-4;
          buf[i] = 0.6 * buf[i] + g[i] / avg;
          w[i] -= 0.01 * buf[i];
        }
      },
      "rmsprop centered momentum");
}

TEST(Optimizers, Adagrad) {
  // sum += g^2; w -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps).
  OptimizerOptions o = OptimizerOptions::adagrad(0.1, 1e-6);
  o.lr_decay = 0.5;
  o.initial_accumulator = 0.2;
  Vec sum(5, 0.2);
  expect_rule(
      o,
      [&](Vec& w, const Vec& g, int t) {
        const double clr = 0.1 / (1.0 + (t - 1) * 0.5);
        for (std::size_t i = 0; i < w.size(); ++i) {
          sum[i] += g[i] * g[i];
          w[i] -= clr * g[i] / (std::sqrt(sum[i]) + 1e-6);
        }
      },
      "adagrad");
}

// Adam of Kingma & Ba with bias correction: m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t),
// w -= lr m_hat / (sqrt(v_hat) + eps).
void adam_reference(Vec& w, const Vec& g, int t, Vec& m, Vec& v, Vec& vmax, double lr, double b1,
                    double b2, double eps, bool amsgrad, double l2, double decoupled) {
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double gi = g[i] + l2 * w[i];
    w[i] *= 1.0 - lr * decoupled;
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    vmax[i] = std::max(vmax[i], v[i]);
    const double m_hat = m[i] / (1 - std::pow(b1, t));
    const double v_hat = (amsgrad ? vmax[i] : v[i]) / (1 - std::pow(b2, t));
    w[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
  }
}

TEST(Optimizers, AdamWithBiasCorrection) {
  Vec m(5, 0.0), v(5, 0.0), vmax(5, 0.0);
  expect_rule(
      OptimizerOptions::adam(0.05, 0.8, 0.95, 1e-4),
      [&](Vec& w, const Vec& g, int t) {
        adam_reference(w, g, t, m, v, vmax, 0.05, 0.8, 0.95, 1e-4, false, 0.0, 0.0);
      },
      "adam");
}

TEST(Optimizers, AdamAmsgradWithL2) {
  OptimizerOptions o = OptimizerOptions::adam(0.01, 0.7, 0.9, 1e-3);
  o.amsgrad = true;
  o.l2 = 0.1;
  Vec m(5, 0.0), v(5, 0.0), vmax(5, 0.0);
  expect_rule(
      o,
      [&](Vec& w, const Vec& g, int t) {
        adam_reference(w, g, t, m, v, vmax, 0.01, 0.7, 0.9, 1e-3, true, 0.1, 0.0);
      },
      "adam amsgrad l2");
}

TEST(Optimizers, AdamWDecouplesWeightDecay) {
  // Loshchilov & Hutter: w *= 1 - lr * wd, then the Adam step on the plain gradient.
  Vec m(5, 0.0), v(5, 0.0), vmax(5, 0.0);
  expect_rule(
      OptimizerOptions::adamw(0.02, 0.3, 0.85, 0.99, 1e-5),
      [&](Vec& w, const Vec& g, int t) {
        adam_reference(w, g, t, m, v, vmax, 0.02, 0.85, 0.99, 1e-5, false, 0.0, 0.3);
      },
      "adamw");
}

TEST(Optimizers, SgdPenaltyAndDecoupledDecayGiveTheSameUpdate) {
  // w - lr (g + l w) = (1 - lr l) w - lr g: the same update, two roundings apart.
  OptimizerOptions penalty = OptimizerOptions::sgd(0.1);
  penalty.l2 = 0.2;
  OptimizerOptions decay = OptimizerOptions::sgd(0.1);
  decay.weight_decay = 0.2;
  const std::vector<Vec> a = run_steps(penalty);
  const std::vector<Vec> b = run_steps(decay);
  for (std::size_t t = 0; t < a.size(); ++t) {
    for (std::size_t i = 0; i < a[t].size(); ++i) EXPECT_NEAR(a[t][i], b[t][i], 1e-15);
  }
}

TEST(Optimizers, NoDecayGroupIsExcludedFromRegularisationByDefault) {
  OptimizerOptions o = OptimizerOptions::adamw(0.01, 0.5);
  o.l2 = 0.1;
  Optimizer opt(o);
  EXPECT_EQ(opt.group("weights").weight_decay, 0.5);
  EXPECT_EQ(opt.group("no_decay").weight_decay, 0.0);
  EXPECT_EQ(opt.group("no_decay").l2, 0.0);
  EXPECT_EQ(opt.group("no_decay").lr, 0.01);
  // A zero gradient: only decay moves a weight, and not in the no_decay group.
  Tensor w = Tensor::from_vector<double>(Shape{2}, {1.0, 1.0});
  Tensor b = Tensor::from_vector<double>(Shape{2}, {1.0, 1.0});
  const Tensor zero = Tensor::zeros(Shape{2}, DType::kFloat64);
  opt.step({{"w", "weights", &w, &zero}, {"b", "no_decay", &b, &zero}});
  Vec want = {1.0, 1.0}, m(2, 0.0), v(2, 0.0), vmax(2, 0.0);
  adam_reference(want, Vec{0.0, 0.0}, 1, m, v, vmax, 0.01, 0.9, 0.999, 1e-8, false, 0.1, 0.5);
  EXPECT_NEAR(w.to_vector<double>()[0], want[0], 1e-15);
  EXPECT_EQ(b.to_vector<double>(), (Vec{1.0, 1.0}));
}

TEST(Optimizers, PerGroupSettings) {
  Optimizer opt(OptimizerOptions::sgd(0.1));
  OptimizerOptions slow = OptimizerOptions::sgd(0.01);
  opt.set_group("head", slow);
  Tensor a = Tensor::from_vector<double>(Shape{1}, {1.0});
  Tensor b = Tensor::from_vector<double>(Shape{1}, {1.0});
  const Tensor g = Tensor::from_vector<double>(Shape{1}, {1.0});
  opt.step({{"a", "weights", &a, &g}, {"b", "head", &b, &g}});
  EXPECT_DOUBLE_EQ(a.item(), 0.9);
  EXPECT_DOUBLE_EQ(b.item(), 0.99);
  EXPECT_NE(test::error_of([&] { opt.set_group("x", OptimizerOptions::adam()); }).find("is sgd"),
            std::string::npos);
}

TEST(Optimizers, BadHyperParametersAreNamed) {
  EXPECT_NE(test::error_of([] { Optimizer(OptimizerOptions::sgd(-1.0)); }).find("lr = -1"),
            std::string::npos);
  EXPECT_NE(test::error_of([] { Optimizer(OptimizerOptions::adam(1e-3, 1.0)); }).find("beta1"),
            std::string::npos);
  EXPECT_NE(
      test::error_of([] { Optimizer(OptimizerOptions::momentum_sgd(0.1, 1.5)); }).find("momentum"),
      std::string::npos);
}

TEST(Optimizers, StateRestoresExactly) {
  for (const OptimizerOptions& o :
       {OptimizerOptions::adam(0.01), OptimizerOptions::momentum_sgd(0.1, 0.9),
        OptimizerOptions::rmsprop(0.01), OptimizerOptions::adagrad(0.1)}) {
    Optimizer first(o);
    Tensor w = Tensor::from_vector<double>(Shape{5}, kStart);
    Tensor g0 = Tensor::from_vector<double>(Shape{5}, kGrads[0]);
    first.step({{"w", "weights", &w, &g0}});
    first.step({{"w", "weights", &w, &g0}});
    // Save after two steps, then both continue with the third gradient.
    const auto state = first.state_dict();
    Tensor w_copy = w.clone();
    Optimizer second(o);
    second.load_state_dict(state);
    EXPECT_EQ(second.steps(), 2);
    Tensor g2 = Tensor::from_vector<double>(Shape{5}, kGrads[2]);
    first.step({{"w", "weights", &w, &g2}});
    second.step({{"w", "weights", &w_copy, &g2}});
    EXPECT_TRUE(bitwise_equal(w, w_copy)) << o.str();
  }
  Optimizer opt(OptimizerOptions::adam());
  EXPECT_NE(test::error_of([&] {
              opt.load_state_dict({{"w.momentum_buffer", Tensor::zeros(Shape{1})}});
            }).find("keeps no slot named 'momentum_buffer'"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] { opt.load_state_dict({}); }).find("no 'step'"), std::string::npos);
}

// A loaded state must be the state of the parameters being trained, whole and in range: a
// renamed or missing entry would silently restart that parameter's moments, a NaN would poison
// every later update, and a negative second moment would take a square root of it.
TEST(Optimizers, LoadedStateIsCheckedAgainstTheParametersAndItsRanges) {
  Optimizer first(OptimizerOptions::adam(0.01));
  Tensor w = Tensor::from_vector<double>(Shape{5}, kStart);
  Tensor g = Tensor::from_vector<double>(Shape{5}, kGrads[0]);
  first.step({{"w", "weights", &w, &g}});
  const std::vector<std::pair<std::string, Tensor>> good = first.state_dict();
  auto changed = [&](const std::string& key, const std::string& renamed, double value, int at) {
    std::vector<std::pair<std::string, Tensor>> state;
    for (const auto& [name, t] : good) {
      if (name == key && renamed.empty()) continue;  // dropped
      Tensor copy = t.clone();
      if (name == key && at >= 0) copy.data<double>()[at] = value;
      state.emplace_back(name == key ? renamed : name, copy);
    }
    return state;
  };
  auto step_error = [&](const std::vector<std::pair<std::string, Tensor>>& state) {
    return test::error_of([&] {
      Optimizer second(OptimizerOptions::adam(0.01));
      second.load_state_dict(state);
      second.step({{"w", "weights", &w, &g}});
    });
  };
  std::string m = step_error(changed("w.exp_avg", "v.exp_avg", 0, -1));
  EXPECT_NE(m.find("optimizer state for 'v' names no parameter being trained"), std::string::npos)
      << m;
  m = step_error(changed("w.exp_avg_sq", "", 0, -1));
  EXPECT_NE(m.find("optimizer state for 'w' lacks 'exp_avg_sq'"), std::string::npos) << m;
  Optimizer third(OptimizerOptions::adam(0.01));
  m = test::error_of(
      [&] { third.load_state_dict(changed("w.exp_avg", "w.exp_avg", std::nan(""), 2)); });
  EXPECT_NE(m.find("optimizer state 'w.exp_avg' holds nan at element 2"), std::string::npos) << m;
  m = test::error_of(
      [&] { third.load_state_dict(changed("w.exp_avg_sq", "w.exp_avg_sq", -1.0, 1)); });
  EXPECT_NE(m.find("optimizer state 'w.exp_avg_sq' holds -1 at element 1: it must not be negative"),
            std::string::npos)
      << m;
  EXPECT_TRUE(step_error(good).empty());
}

TEST(Optimizers, FrozenParametersAreNeverTouched) {
  Graph g(1);
  const Value x = g.input("x", Shape{4, 3});
  const Value y = g.linear_layer(g.relu(g.linear_layer(x, 5, {}, "body")), 2, {}, "head");
  const Value loss = g.mse_loss(y, g.input("t", Shape{4, 2}));
  g.freeze_prefix("body.");
  const Tensor body = g.tensor(g.find("body.weight")).clone();
  Executor e(g);
  e.set_input(x, test::random_tensor(Shape{4, 3}, 1, -1, 1, DType::kFloat32));
  e.set_input(g.find("t"), test::random_tensor(Shape{4, 2}, 2, -1, 1, DType::kFloat32));
  OptimizerOptions o = OptimizerOptions::adamw(0.1, 0.5);
  Optimizer opt(o);
  for (int step = 0; step < 3; ++step) {
    e.forward();
    e.backward(loss);
    opt.step(e);
  }
  EXPECT_TRUE(bitwise_equal(g.tensor(g.find("body.weight")), body));
  for (const auto& [name, t] : opt.state_dict())
    EXPECT_EQ(name.find("body."), std::string::npos) << name;
}

}  // namespace
}  // namespace myelin
