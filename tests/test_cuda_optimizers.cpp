// The fused multi-tensor optimizer on the GPU against the CPU path: every update rule and option
// of tests/test_optimizers.cpp (momentum forms, Nesterov, centered RMSprop with momentum,
// Adagrad's decay and initial accumulator, Adam with AMSGrad, the L2 penalty, decoupled weight
// decay, per-group settings), global-norm clipping and clipping by value, for three steps of a
// small network; then the parameters and every state slot are compared.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <map>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct Setting {
  std::string label;
  OptimizerOptions options;
  GradientClipping clipping;
  bool head_group = false;  // the last layer in a group of its own, with other settings
};

// gtest prints a parameter in test names and failures: the label says which setting it is.
void PrintTo(const Setting& s, std::ostream* out) {
  *out << s.label;
}

struct Outcome {
  std::map<std::string, Tensor> tensors;  // parameters and optimizer state, on the host
};

Outcome run(const Setting& s, Device device) {
  Graph g(5);
  const Value x = g.input("x", Shape{24, 6});
  const Value y = g.input("y", Shape{24}, DType::kInt64);
  Value h = g.tanh(g.linear_layer(x, 9, {}, "fc1"));
  const Value logits = g.linear_layer(h, 4, {}, "head");
  if (s.head_group) {
    for (Value p : g.parameters()) {
      if (g.name(p).rfind("head.", 0) == 0) g.set_group(p, "head");
    }
  }
  const Value loss = g.softmax_cross_entropy(logits, y);
  ExecutorOptions options;
  options.device = device;
  Executor e(g, options);
  Optimizer opt(s.options);
  if (s.head_group) {
    OptimizerOptions head = s.options;
    head.lr = s.options.lr * 0.5;
    head.weight_decay = 0.0;
    head.l2 = 0.05;
    opt.set_group("head", head);
  }
  for (int step = 0; step < 3; ++step) {
    e.set_input(x, test::random_tensor(Shape{24, 6}, 10 + step, -2, 2, DType::kFloat32));
    e.set_input(y, test::random_labels(24, 4, 20 + step));
    e.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
    e.backward(loss);
    opt.step(e, s.clipping);
  }
  e.write_back();
  Outcome out;
  for (Value p : g.parameters()) out.tensors["param " + g.name(p)] = g.tensor(p).clone();
  for (const auto& [name, t] : opt.state_dict()) {
    out.tensors["state " + name] = t.to(Device::cpu());
  }
  return out;
}

std::vector<Setting> settings() {
  std::vector<Setting> all;
  all.push_back({"sgd", OptimizerOptions::sgd(0.3), {}, false});
  OptimizerOptions l2 = OptimizerOptions::sgd(0.2);
  l2.l2 = 0.1;
  all.push_back({"sgd with the L2 penalty", l2, {}, false});
  all.push_back({"momentum", OptimizerOptions::momentum_sgd(0.1, 0.8), {}, false});
  all.push_back({"momentum ema", OptimizerOptions::momentum_ema(0.5, 0.7), {}, false});
  all.push_back({"nesterov", OptimizerOptions::nesterov(0.05, 0.85), {}, false});
  all.push_back({"rmsprop", OptimizerOptions::rmsprop(0.02, 0.9, 1e-3), {}, false});
  OptimizerOptions centered = OptimizerOptions::rmsprop(0.01, 0.95, 1e-4);
  centered.centered = true;
  centered.momentum = 0.6;
  all.push_back({"rmsprop centered with momentum", centered, {}, false});
  OptimizerOptions adagrad = OptimizerOptions::adagrad(0.1, 1e-6);
  adagrad.lr_decay = 0.5;
  adagrad.initial_accumulator = 0.2;
  all.push_back({"adagrad with lr decay and an initial accumulator", adagrad, {}, false});
  all.push_back({"adam", OptimizerOptions::adam(0.05, 0.8, 0.95, 1e-4), {}, false});
  OptimizerOptions amsgrad = OptimizerOptions::adam(0.01, 0.7, 0.9, 1e-3);
  amsgrad.amsgrad = true;
  amsgrad.l2 = 0.1;
  all.push_back({"adam amsgrad with L2", amsgrad, {}, false});
  all.push_back({"adamw", OptimizerOptions::adamw(0.02, 0.3, 0.85, 0.99, 1e-5), {}, false});
  all.push_back({"adamw with a head group", OptimizerOptions::adamw(0.02, 0.3), {}, true});
  all.push_back(
      {"momentum clipped by norm", OptimizerOptions::momentum_sgd(0.1, 0.9), {0.05, 0.0}, false});
  all.push_back({"sgd clipped by value", OptimizerOptions::sgd(0.2), {0.0, 0.01}, false});
  all.push_back(
      {"adam clipped by norm and value", OptimizerOptions::adam(0.01), {0.1, 0.02}, false});
  return all;
}

// Three steps on float32 gradients whose GEMMs and reductions add in other orders (about 1e-6
// relative, the op tolerances), each update computed in float on the GPU and in double on the
// CPU: 1e-5 of a tensor's scale. The adaptive rules divide by a running root mean square, so an
// element whose gradient is small against its rounding error moves by up to lr per step either
// way: 3e-5 for them (measured on the emulated device: at most 4.4e-6, Adam with lr 0.05).
double tolerance(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kRmsprop:
    case OptimizerKind::kAdagrad:
    case OptimizerKind::kAdam:
    case OptimizerKind::kAdamW:
      return 3e-5;
    default:
      return 1e-5;
  }
}

class CudaOptimizers : public testing::TestWithParam<Setting> {};

TEST_P(CudaOptimizers, MatchTheCpuPath) {
  MYELIN_REQUIRE_GPU();
  const Setting& s = GetParam();
  const Outcome cpu = run(s, Device::cpu());
  Outcome gpu;
  for (std::uint64_t seed : test::schedule_seeds()) {
    test::ScheduleSeed scope(seed);
    Outcome again = run(s, Device::cuda(0));
    if (gpu.tensors.empty()) {
      gpu = std::move(again);
      continue;
    }
    for (const auto& [name, t] : gpu.tensors) {
      EXPECT_TRUE(bitwise_equal(again.tensors.at(name), t)) << name << " under seed " << seed;
    }
  }
  ASSERT_EQ(cpu.tensors.size(), gpu.tensors.size());
  double worst = 0;
  for (const auto& [name, c] : cpu.tensors) {
    const Tensor& d = gpu.tensors.at(name);
    ASSERT_EQ(c.shape(), d.shape()) << name;
    const std::vector<double> a = c.to_vector<double>(), b = d.to_vector<double>();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_TRUE(std::isfinite(b[i])) << name << " element " << i;
      diff = std::max(diff, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(a[i]));
    }
    EXPECT_LE(diff, tolerance(s.options.kind) * std::max(scale, 1e-3)) << s.label << ": " << name;
    worst = std::max(worst, diff / std::max(scale, 1e-3));
  }
  std::cout << "cuda-vs-cpu optimizer " << s.label << ": worst normalised error " << worst << "\n";
}

INSTANTIATE_TEST_SUITE_P(Rules, CudaOptimizers, testing::ValuesIn(settings()),
                         [](const testing::TestParamInfo<Setting>& info) {
                           std::string name;
                           for (char ch : info.param.label) {
                             name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace myelin
