// Learning-rate schedules against their formulas, and gradient clipping.
#include <gtest/gtest.h>

#include <cmath>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

constexpr double kPi = 3.14159265358979323846;

TEST(Schedules, ConstantStepExponentialInverseTimeCosine) {
  EXPECT_EQ(LrSchedule::constant().factor(12345), 1.0);

  LrSchedule step = LrSchedule::step(/*step_epochs=*/3, 0.5);
  step.steps_per_epoch = 10;  // epochs are whole: step 29 is still epoch 2
  EXPECT_EQ(step.factor(0), 1.0);
  EXPECT_EQ(step.factor(29), 1.0);
  EXPECT_EQ(step.factor(30), 0.5);
  EXPECT_EQ(step.factor(65), 0.25);

  LrSchedule exp = LrSchedule::exponential(0.9);
  exp.steps_per_epoch = 4;
  EXPECT_DOUBLE_EQ(exp.factor(3), 1.0);
  EXPECT_DOUBLE_EQ(exp.factor(9), 0.81);

  LrSchedule inv = LrSchedule::inverse_time(0.5);  // lr0 / (1 + 0.5 epoch)
  inv.steps_per_epoch = 2;
  EXPECT_DOUBLE_EQ(inv.factor(1), 1.0);
  EXPECT_DOUBLE_EQ(inv.factor(2), 1.0 / 1.5);
  EXPECT_DOUBLE_EQ(inv.factor(7), 1.0 / 2.5);
  inv.per_step = true;  // fractional epochs
  EXPECT_DOUBLE_EQ(inv.factor(1), 1.0 / 1.25);

  LrSchedule cos = LrSchedule::cosine(/*cosine_epochs=*/10, /*min_factor=*/0.1);
  cos.steps_per_epoch = 5;
  EXPECT_DOUBLE_EQ(cos.factor(0), 1.0);
  EXPECT_NEAR(cos.factor(25), 0.1 + 0.9 * (1 + std::cos(kPi * 5 / 10)) / 2, 1e-15);
  EXPECT_NEAR(cos.factor(50), 0.1, 1e-15);
  EXPECT_NEAR(cos.factor(500), 0.1, 1e-15);  // held at the minimum afterwards
}

TEST(Schedules, LinearWarmUpThenTheSchedule) {
  LrSchedule s = LrSchedule::step(1, 0.5).with_warmup(4);
  s.steps_per_epoch = 2;
  EXPECT_DOUBLE_EQ(s.factor(0), 0.25);
  EXPECT_DOUBLE_EQ(s.factor(1), 0.5);
  EXPECT_DOUBLE_EQ(s.factor(3), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(4), 1.0);  // the step schedule's own step 0
  EXPECT_DOUBLE_EQ(s.factor(6), 0.5);
}

TEST(Schedules, BadValuesAreNamed) {
  EXPECT_NE(test::error_of([] { LrSchedule::exponential(0.0); }).find("gamma"), std::string::npos);
  EXPECT_NE(test::error_of([] { LrSchedule::cosine(0); }).find("cosine_epochs"), std::string::npos);
  EXPECT_NE(test::error_of([] { LrSchedule::constant().with_warmup(-1); }).find("warmup_steps"),
            std::string::npos);
}

// A graph whose parameter gradients are known: loss = mean((w - t)^2) over 4 elements.
struct Quadratic {
  Graph g;
  Value w, a, b, loss;
  Quadratic() {
    const Value x = g.input("x", Shape{1, 1}, DType::kFloat64);
    w = g.parameter("w", Tensor::from_vector<double>(Shape{1, 1}, {3.0}));
    a = g.linear(x, w);
    b = g.linear(x, g.parameter("v", Tensor::from_vector<double>(Shape{1, 1}, {-4.0})));
    loss = g.add(g.mse_loss(a, g.input("t", Shape{1, 1}, DType::kFloat64)),
                 g.mse_loss(b, g.input("u", Shape{1, 1}, DType::kFloat64)));
  }
};

TEST(Clipping, GlobalNormAndValue) {
  Quadratic q;
  ExecutorOptions options;
  options.dtype = DType::kFloat64;
  Executor e(q.g, options);
  e.set_input(q.g.find("x"), Tensor::full(Shape{1, 1}, 1.0, DType::kFloat64));
  e.set_input(q.g.find("t"), Tensor::full(Shape{1, 1}, 0.0, DType::kFloat64));
  e.set_input(q.g.find("u"), Tensor::full(Shape{1, 1}, 0.0, DType::kFloat64));
  e.forward();
  e.backward(q.loss);
  // d/dw (w - 0)^2 = 2w = 6, d/dv = -8: the norm is 10.
  EXPECT_DOUBLE_EQ(global_grad_norm(e), 10.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm(e, 20.0), 10.0);  // below the threshold: untouched
  EXPECT_DOUBLE_EQ(e.grad(q.w).item(), 6.0);
  EXPECT_DOUBLE_EQ(clip_grad_norm(e, 5.0), 10.0);
  const double scale = 5.0 / (10.0 + 1e-6);
  EXPECT_DOUBLE_EQ(e.grad(q.w).item(), 6.0 * scale);
  EXPECT_DOUBLE_EQ(e.grad(q.g.find("v")).item(), -8.0 * scale);
  clip_grad_value(e, 1.0);
  EXPECT_DOUBLE_EQ(e.grad(q.w).item(), 1.0);
  EXPECT_DOUBLE_EQ(e.grad(q.g.find("v")).item(), -1.0);
  EXPECT_NE(test::error_of([&] { clip_grad_norm(e, 0.0); }).find("max_norm"), std::string::npos);
}

TEST(Regularisation, L2PenaltyCountsWeightsNotBiases) {
  Graph g;
  const Value x = g.input("x", Shape{1, 2});
  g.linear_layer(x, 1, LinearOptions{true, Init::constant(2.0), Init::constant(5.0)}, "fc");
  Executor e(g);
  OptimizerOptions o = OptimizerOptions::sgd(0.1);
  o.l2 = 0.5;
  Optimizer opt(o);
  // (0.5 / 2) * (2^2 + 2^2); the bias is in the no_decay group.
  EXPECT_DOUBLE_EQ(l2_penalty(e, opt), 2.0);
}

}  // namespace
}  // namespace myelin
