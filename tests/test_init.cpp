// Initialisers against torch.nn.init's definitions, and the two classic demonstrations of why
// initialisation matters.
#include <gtest/gtest.h>

#include <cmath>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct Moments {
  double min = 1e300, max = -1e300, mean = 0, stddev = 0;
};

Moments moments(const Tensor& t) {
  Moments m;
  const std::vector<double> v = t.to_vector<double>();
  for (double x : v) {
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
    m.mean += x / static_cast<double>(v.size());
  }
  for (double x : v) m.stddev += (x - m.mean) * (x - m.mean) / static_cast<double>(v.size());
  m.stddev = std::sqrt(m.stddev);
  return m;
}

Tensor drawn(const Shape& shape, const Init& init, std::uint64_t seed = 1) {
  Tensor t = Tensor::empty(shape, DType::kFloat64);
  initialize(t, init, seed, stable_id("w"));
  return t;
}

TEST(Init, GainsAndFansFollowPyTorch) {
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::kLinear), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::kSigmoid), 1.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::kTanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::kRelu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::kLeakyRelu, 0.2), std::sqrt(2.0 / 1.04));
  const Fans f = compute_fans(Shape{16, 8, 3, 3});
  EXPECT_EQ(f.fan_in, 72);
  EXPECT_EQ(f.fan_out, 144);
  EXPECT_NE(test::error_of([] { compute_fans(Shape{5}); }).find("rank 2"), std::string::npos);
}

TEST(Init, DistributionsHaveTheirBoundsAndSpread) {
  const Shape s{200, 300};  // fan_in 300, fan_out 200; 60,000 draws
  // Uniform bounds are exact; standard deviations within 2% (sampling error ~0.3%).
  Moments m = moments(drawn(s, Init::xavier_uniform(2.0)));
  const double xavier_bound = 2.0 * std::sqrt(6.0 / 500.0);
  EXPECT_LE(m.max, xavier_bound);
  EXPECT_GE(m.min, -xavier_bound);
  EXPECT_NEAR(m.stddev, xavier_bound / std::sqrt(3.0), 0.02 * xavier_bound / std::sqrt(3.0));

  m = moments(drawn(s, Init::xavier_normal()));
  EXPECT_NEAR(m.stddev, std::sqrt(2.0 / 500.0), 0.02 * std::sqrt(2.0 / 500.0));

  m = moments(drawn(s, Init::kaiming_uniform(Nonlinearity::kRelu)));
  const double he_bound = std::sqrt(3.0) * std::sqrt(2.0) / std::sqrt(300.0);
  EXPECT_LE(m.max, he_bound);
  EXPECT_GE(m.min, -he_bound);

  m = moments(drawn(s, Init::kaiming_normal(Nonlinearity::kRelu, 0.0, FanMode::kFanOut)));
  EXPECT_NEAR(m.stddev, std::sqrt(2.0 / 200.0), 0.02 * std::sqrt(2.0 / 200.0));

  m = moments(drawn(s, Init::kaiming_normal(Nonlinearity::kTanh)));
  EXPECT_NEAR(m.stddev, (5.0 / 3.0) / std::sqrt(300.0), 0.02 * (5.0 / 3.0) / std::sqrt(300.0));

  m = moments(drawn(s, Init::normal(3.0, 0.5)));
  EXPECT_NEAR(m.mean, 3.0, 0.01);
  EXPECT_NEAR(m.stddev, 0.5, 0.01);

  m = moments(drawn(s, Init::uniform(-0.1, 0.3)));
  EXPECT_GE(m.min, -0.1);
  EXPECT_LT(m.max, 0.3);
  EXPECT_NEAR(m.mean, 0.1, 0.002);

  m = moments(drawn(s, Init::linear_default()));  // nn.Linear: U(+-1/sqrt(fan_in))
  EXPECT_LE(m.max, 1.0 / std::sqrt(300.0));
  EXPECT_GT(m.max, 0.99 / std::sqrt(300.0));

  EXPECT_EQ(moments(drawn(s, Init::constant(0.25))).min, 0.25);
  EXPECT_EQ(moments(drawn(s, Init::zeros())).max, 0.0);
}

TEST(Init, SameSeedSameWeightsAnywhere) {
  EXPECT_TRUE(bitwise_equal(drawn(Shape{7, 5}, Init::kaiming_normal(), 3),
                            drawn(Shape{7, 5}, Init::kaiming_normal(), 3)));
  EXPECT_FALSE(bitwise_equal(drawn(Shape{7, 5}, Init::kaiming_normal(), 3),
                             drawn(Shape{7, 5}, Init::kaiming_normal(), 4)));
  // Uniform draws use integer arithmetic only: these are fixed bits on every machine.
  Tensor t = Tensor::empty(Shape{2}, DType::kFloat64);
  initialize(t, Init::uniform(0.0, 1.0), 0, 0);
  const PhiloxWords w = philox_block(0, 0, 0, 0);
  EXPECT_EQ(t.to_vector<double>()[0], uniform_double(w.w[0], w.w[1]));
  // Layers draw each parameter from its own stream.
  Graph g(9);
  const Value x = g.input("x", Shape{1, 4});
  g.linear_layer(g.linear_layer(x, 4, {}, "a"), 4, {}, "b");
  EXPECT_FALSE(bitwise_equal(g.tensor(g.find("a.weight")), g.tensor(g.find("b.weight"))));
}

// Blobs: class 0 around (-1, -1), class 1 around (1, 1).
Dataset blobs(std::int64_t per_class, std::uint64_t seed) {
  Dataset d{Tensor::empty(Shape{2 * per_class, 2}),
            Tensor::empty(Shape{2 * per_class}, DType::kInt64)};
  Rng rng(seed);
  for (std::int64_t i = 0; i < 2 * per_class; ++i) {
    const std::int64_t c = i < per_class ? 0 : 1;
    d.x.data<float>()[2 * i] = static_cast<float>((c ? 1.0 : -1.0) + 0.6 * rng.normal());
    d.x.data<float>()[2 * i + 1] = static_cast<float>((c ? 1.0 : -1.0) + 0.6 * rng.normal());
    d.y.data<std::int64_t>()[i] = c;
  }
  return d;
}

TEST(InitDemonstrations, ZeroInitialisedSigmoidUnitsNeverBreakSymmetry) {
  const Dataset data = make_spirals(100, 2, 0.75, 0.05, 1);
  Graph g;
  const Value x = g.input("x", Shape{200, 2});
  const Value y = g.input("y", Shape{200}, DType::kInt64);
  const LinearOptions zeros{true, Init::zeros(), Init::zeros()};
  const Value h = g.sigmoid(g.linear_layer(x, 8, zeros, "hidden"), "h");
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, zeros, "out"), y);
  Executor e(g);
  e.set_input(x, data.x);
  e.set_input(y, data.y);
  Optimizer sgd(OptimizerOptions::sgd(0.5));
  for (int step = 0; step < 100; ++step) {
    e.forward();
    e.backward(loss);
    sgd.step(e);
  }
  const std::vector<float> w = g.tensor(g.find("hidden.weight")).to_vector<float>();  // [8, 2]
  const std::vector<float> b = g.tensor(g.find("hidden.bias")).to_vector<float>();
  const std::vector<float> w2 = g.tensor(g.find("out.weight")).to_vector<float>();  // [2, 8]
  EXPECT_NE(w[0], 0.0f);  // the weights did move
  EXPECT_NE(w2[0], 0.0f);
  for (int unit = 1; unit < 8; ++unit) {  // ... yet every hidden unit is the same unit
    EXPECT_EQ(w[static_cast<std::size_t>(2 * unit)], w[0]);
    EXPECT_EQ(w[static_cast<std::size_t>(2 * unit + 1)], w[1]);
    EXPECT_EQ(b[static_cast<std::size_t>(unit)], b[0]);
    EXPECT_EQ(w2[static_cast<std::size_t>(unit)], w2[0]);
    EXPECT_EQ(w2[static_cast<std::size_t>(8 + unit)], w2[8]);
  }
  e.forward();
  const std::vector<float> hidden = e.value(h).to_vector<float>();
  for (int unit = 1; unit < 8; ++unit) EXPECT_EQ(hidden[static_cast<std::size_t>(unit)], hidden[0]);
}

TEST(InitDemonstrations, ZeroInitialisedLogisticRegressionStillLearns) {
  // No hidden layer: no symmetry to break, so zeros are a fine start.
  const Dataset data = blobs(200, 5);
  Graph g;
  const Value x = g.input("x", Shape{400, 2});
  const Value y = g.input("y", Shape{400}, DType::kInt64);
  const Value logits =
      g.linear_layer(x, 2, LinearOptions{true, Init::zeros(), Init::zeros()}, "logistic");
  const Value loss = g.softmax_cross_entropy(logits, y);
  Executor e(g);
  e.set_input(x, data.x);
  e.set_input(y, data.y);
  e.forward();
  EXPECT_DOUBLE_EQ(accuracy(e.value(logits), data.y), 0.5);  // all logits equal: argmax is class 0
  Optimizer sgd(OptimizerOptions::sgd(0.5));
  for (int step = 0; step < 100; ++step) {
    e.forward();
    e.backward(loss);
    sgd.step(e);
  }
  e.forward();
  // The Bayes boundary x1 + x2 = 0 misclassifies ~1% of these blobs (distance sqrt(2) / 0.6
  // standard deviations); 95% leaves room for a boundary learned from 400 points.
  EXPECT_GE(accuracy(e.value(logits), data.y), 0.95);
}

}  // namespace
}  // namespace myelin
