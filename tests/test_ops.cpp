// Forward values of every op against PyTorch's documented definitions, written out here
// independently of the library's code.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::error_of;

// Runs one single-input op on `x` (float64) and returns its output.
std::vector<double> run_op(const std::string& op, const std::vector<double>& x,
                           const Attrs& attrs = {}, DType dtype = DType::kFloat64) {
  Graph g;
  const auto n = static_cast<std::int64_t>(x.size());
  const Value in = g.input("x", Shape{1, n});
  const Value out = g.op(op, {in}, attrs);
  ExecutorOptions options;
  options.dtype = dtype;
  Executor e(g, options);
  e.set_input(in, Tensor::from_vector<double>(Shape{1, n}, x));
  e.forward(Mode::kTrain);
  return e.value(out).to_vector<double>();
}

ExecutorOptions in_double() {
  ExecutorOptions options;
  options.dtype = DType::kFloat64;
  return options;
}

const std::vector<double> kPoints = {-30.0, -3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.5, 30.0};

double sigmoid(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

void expect_all_near(const std::vector<double>& got, const std::vector<double>& want, double tol,
                     const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::abs(want[i]))) << what << " at " << i;
  }
}

TEST(OpValues, Activations) {
  std::vector<double> want;
  auto expect = [&](const std::string& op, const Attrs& attrs, auto f) {
    want.clear();
    for (double x : kPoints) want.push_back(f(x));
    expect_all_near(run_op(op, kPoints, attrs), want, 1e-12, op);
  };
  expect("identity", {}, [](double x) { return x; });
  expect("relu", {}, [](double x) { return x > 0 ? x : 0.0; });
  expect("leaky_relu", {}, [](double x) { return x > 0 ? x : 0.01 * x; });  // default slope
  expect("leaky_relu", {{"negative_slope", 0.2}}, [](double x) { return x > 0 ? x : 0.2 * x; });
  expect("sigmoid", {}, sigmoid);
  expect("tanh", {}, [](double x) { return std::tanh(x); });
  expect("elu", {}, [](double x) { return x > 0 ? x : std::exp(x) - 1.0; });
  expect("elu", {{"alpha", 0.5}}, [](double x) { return x > 0 ? x : 0.5 * (std::exp(x) - 1.0); });
  expect("abs", {}, [](double x) { return std::fabs(x); });
  expect("gelu", {}, [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); });
  expect("gelu", {{"approximate", std::string("tanh")}}, [](double x) {
    return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  });
  expect("silu", {}, [](double x) { return x * sigmoid(x); });
  // softplus: log(1 + e^(beta x)) / beta, and x itself where beta x > threshold.
  expect("softplus", {}, [](double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); });
  expect("softplus", {{"beta", 2.0}, {"threshold", 5.0}},
         [](double x) { return 2.0 * x > 5.0 ? x : std::log1p(std::exp(2.0 * x)) / 2.0; });
}

TEST(OpValues, PublishedActivationValues) {
  // Values printed by torch.nn.functional for x = 1 and x = -1.
  const std::vector<double> at = {1.0, -1.0};
  expect_all_near(run_op("gelu", at), {0.8413447460685429, -0.15865525393145707}, 1e-12, "gelu");
  expect_all_near(run_op("gelu", at, {{"approximate", std::string("tanh")}}),
                  {0.8411919906082768, -0.15880800939172324}, 1e-12, "gelu tanh");
  expect_all_near(run_op("elu", at), {1.0, -0.6321205588285577}, 1e-12, "elu");
  expect_all_near(run_op("silu", at), {0.7310585786300049, -0.2689414213699951}, 1e-12, "silu");
  expect_all_near(run_op("softplus", at), {1.3132616875182228, 0.31326168751822286}, 1e-12,
                  "softplus");
}

TEST(OpValues, NaNPropagatesThroughActivations) {
  // A NaN must not be hidden (relu(NaN) is NaN in PyTorch too): it is how divergence shows.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const char* op :
       {"relu", "leaky_relu", "elu", "abs", "sigmoid", "tanh", "gelu", "silu", "softplus"}) {
    EXPECT_TRUE(std::isnan(run_op(op, {nan})[0])) << op;
  }
}

TEST(OpValues, SigmoidAndSoftplusDoNotOverflowInFloat) {
  const std::vector<double> big = {-1000.0, 1000.0};
  expect_all_near(run_op("sigmoid", big, {}, DType::kFloat32), {0.0, 1.0}, 0, "sigmoid");
  expect_all_near(run_op("softplus", big, {}, DType::kFloat32), {0.0, 1000.0}, 0, "softplus");
}

TEST(OpValues, SoftmaxIsStableForHugeLogits) {
  for (DType t : {DType::kFloat32, DType::kFloat64}) {
    const std::vector<double> p = run_op("softmax", {1e4, 1e4 - 1.0, -1e4}, {}, t);
    const double e1 = std::exp(-1.0);
    expect_all_near(p, {1.0 / (1.0 + e1), e1 / (1.0 + e1), 0.0}, 1e-6, "softmax");
    const std::vector<double> lp = run_op("log_softmax", {1e4, 1e4 - 1.0, -1e4}, {}, t);
    const double lse = std::log1p(e1);
    expect_all_near(lp, {-lse, -1.0 - lse, -2e4 - lse}, 1e-6, "log_softmax");
  }
}

TEST(OpValues, LinearWithAndWithoutBias) {
  Graph g;
  const Value x = g.input("x", Shape{2, 3});
  const Value w = g.parameter("w", Tensor::from_vector<double>(Shape{2, 3}, {1, 2, 3, -1, 0, 1}));
  const Value b = g.parameter("b", Tensor::from_vector<double>(Shape{2}, {0.5, -0.5}));
  const Value y = g.linear(x, w, b);
  const Value y_nobias = g.linear(x, w);
  Executor e(g, in_double());
  e.set_input(x, Tensor::from_vector<double>(Shape{2, 3}, {1, 1, 1, 2, 0, -1}));
  e.forward();
  // x W^T: row 0: (6, 0), row 1: (-1, -3).
  EXPECT_EQ(e.value(y).to_vector<double>(), (std::vector<double>{6.5, -0.5, -0.5, -3.5}));
  EXPECT_EQ(e.value(y_nobias).to_vector<double>(), (std::vector<double>{6, 0, -1, -3}));
}

TEST(OpValues, CrossEntropyFollowsPyTorch) {
  Graph g;
  const Value logits = g.input("logits", Shape{3, 3});
  const Value labels = g.input("labels", Shape{3}, DType::kInt32);
  const Value plain = g.softmax_cross_entropy(logits, labels);
  const Value ignoring = g.softmax_cross_entropy(logits, labels, 2);
  const Value smooth = g.op("softmax_cross_entropy", {logits, labels}, {{"label_smoothing", 0.3}});
  Executor e(g, in_double());
  const std::vector<double> z = {1.0, 2.0, 3.0, 0.0, 0.0, 0.0, -1.0, 5.0, 0.5};
  e.set_input(logits, Tensor::from_vector<double>(Shape{3, 3}, z));
  e.set_input(labels, Tensor::from_vector<std::int32_t>(Shape{3}, {2, 0, 2}));
  e.forward();
  auto nll = [&](int row, int label) {
    double s = 0;
    for (int c = 0; c < 3; ++c) s += std::exp(z[static_cast<std::size_t>(row * 3 + c)]);
    return std::log(s) - z[static_cast<std::size_t>(row * 3 + label)];
  };
  const double l0 = nll(0, 2), l1 = nll(1, 0), l2 = nll(2, 2);
  EXPECT_NEAR(e.value(plain).item(), (l0 + l1 + l2) / 3.0, 1e-14);
  EXPECT_NEAR(e.value(ignoring).item(), l1, 1e-14);  // rows with label 2 are ignored
  auto smoothed = [&](int row, int label) {
    double mean = 0;
    for (int c = 0; c < 3; ++c) mean += nll(row, c) / 3.0;
    return 0.7 * nll(row, label) + 0.3 * mean;
  };
  EXPECT_NEAR(e.value(smooth).item(), (smoothed(0, 2) + smoothed(1, 0) + smoothed(2, 2)) / 3.0,
              1e-14);
}

TEST(OpValues, CrossEntropyWithEveryRowIgnoredIsNaN) {
  Graph g;
  const Value logits = g.input("logits", Shape{2, 2});
  const Value labels = g.input("labels", Shape{2}, DType::kInt64);
  const Value loss = g.softmax_cross_entropy(logits, labels);
  Executor e(g);
  e.set_input(logits, Tensor::zeros(Shape{2, 2}));
  e.set_input(labels, Tensor::from_vector<std::int64_t>(Shape{2}, {-100, -100}));
  e.forward();
  EXPECT_TRUE(std::isnan(e.value(loss).item()));
}

TEST(OpValues, BinaryCrossEntropyWithLogitsAndMask) {
  Graph g;
  const Value x = g.input("x", Shape{2, 2});
  const Value t = g.input("t", Shape{2, 2});
  const Value m = g.input("m", Shape{2, 2}, DType::kUInt8);
  const Value full = g.bce_with_logits(x, t);
  const Value masked = g.bce_with_logits(x, t, m);
  ExecutorOptions options = in_double();
  options.input_grads = {x};
  Executor e(g, options);
  const std::vector<double> xs = {2.0, -1.0, 0.0, 50.0};
  const std::vector<double> ts = {1.0, 0.0, 0.3, 0.0};
  e.set_input(x, Tensor::from_vector<double>(Shape{2, 2}, xs));
  e.set_input(t, Tensor::from_vector<double>(Shape{2, 2}, ts));
  e.set_input(m, Tensor::from_vector<std::uint8_t>(Shape{2, 2}, {1, 0, 1, 1}));
  e.forward();
  // -[t log s(x) + (1 - t) log(1 - s(x))], written with log1p for the large logit.
  auto l = [](double x, double t) {
    return t * std::log1p(std::exp(-x)) + (1 - t) * (x + std::log1p(std::exp(-x)));
  };
  double sum = 0;
  for (int i = 0; i < 4; ++i)
    sum += l(xs[static_cast<std::size_t>(i)], ts[static_cast<std::size_t>(i)]);
  EXPECT_NEAR(e.value(full).item(), sum / 4.0, 1e-12);
  EXPECT_NEAR(e.value(masked).item(), (l(2.0, 1.0) + l(0.0, 0.3) + l(50.0, 0.0)) / 3.0, 1e-12);
  // No observed entry: 0, not NaN.
  e.set_input(m, Tensor::zeros(Shape{2, 2}, DType::kUInt8));
  e.forward();
  EXPECT_EQ(e.value(masked).item(), 0.0);
  // A missing label (NaN) where the mask is 0 reaches neither the loss nor the gradient.
  e.set_input(m, Tensor::from_vector<std::uint8_t>(Shape{2, 2}, {1, 0, 1, 1}));
  e.set_input(t, Tensor::from_vector<double>(Shape{2, 2}, {1.0, NAN, 0.3, 0.0}));
  e.forward();
  EXPECT_NEAR(e.value(masked).item(), (l(2.0, 1.0) + l(0.0, 0.3) + l(50.0, 0.0)) / 3.0, 1e-12);
  e.backward(masked);
  const std::vector<double> dx = e.grad(x).to_vector<double>();
  EXPECT_EQ(dx[1], 0.0);
  for (double d : dx) EXPECT_TRUE(std::isfinite(d));
  EXPECT_NEAR(dx[0], (1.0 / (1.0 + std::exp(-2.0)) - 1.0) / 3.0, 1e-12);
  // A mask must hold 0 or 1.
  e.set_input(m, Tensor::from_vector<std::uint8_t>(Shape{2, 2}, {1, 2, 0, 0}));
  EXPECT_NE(error_of([&] { e.forward(); }).find("mask value 2"), std::string::npos);
}

TEST(OpValues, MeanSquaredError) {
  Graph g;
  const Value a = g.input("a", Shape{3});
  const Value b = g.input("b", Shape{3});
  const Value loss = g.mse_loss(a, b);
  Executor e(g);
  e.set_input(a, Tensor::from_vector<float>(Shape{3}, {1, 2, 3}));
  e.set_input(b, Tensor::from_vector<float>(Shape{3}, {1, 0, 6}));
  e.forward();
  EXPECT_FLOAT_EQ(static_cast<float>(e.value(loss).item()), (0.0f + 4.0f + 9.0f) / 3.0f);
}

TEST(OpValues, BatchNormTrainingStatisticsAndRunningUpdate) {
  Graph g;
  const Value x = g.input("x", Shape{4, 2});
  const Value y = g.batch_norm_layer(x, {0.1, 1e-5}, "bn");
  Executor e(g, in_double());
  // Feature 0: 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); feature 1 constant 5.
  e.set_input(x, Tensor::from_vector<double>(Shape{4, 2}, {1, 5, 2, 5, 3, 5, 6, 5}));
  e.forward(Mode::kTrain);
  const std::vector<double> out = e.value(y).to_vector<double>();
  const double inv = 1.0 / std::sqrt(3.5 + 1e-5);
  EXPECT_NEAR(out[0], (1 - 3) * inv, 1e-12);
  EXPECT_NEAR(out[6], (6 - 3) * inv, 1e-12);
  EXPECT_NEAR(out[1], 0.0, 1e-12);
  const std::vector<double> rm = e.param(g.find("bn.running_mean")).to_vector<double>();
  const std::vector<double> rv = e.param(g.find("bn.running_var")).to_vector<double>();
  EXPECT_NEAR(rm[0], 0.1 * 3.0, 1e-12);
  EXPECT_NEAR(rm[1], 0.1 * 5.0, 1e-12);
  EXPECT_NEAR(rv[0], 0.9 + 0.1 * 14.0 / 3.0, 1e-12);
  EXPECT_NEAR(rv[1], 0.9, 1e-12);
  EXPECT_EQ(e.param(g.find("bn.num_batches_tracked")).item(), 1.0);
}

TEST(OpValues, BatchNormOverChannelsOfImages) {
  Graph g;
  const Value x = g.input("x", Shape{2, 3, 2, 2});
  const Value y = g.batch_norm_layer(x, {}, "bn");
  Executor e(g, in_double());
  const Tensor in = test::random_tensor(Shape{2, 3, 2, 2}, 4, -2, 2);
  e.set_input(x, in);
  e.forward();
  const std::vector<double> v = in.to_vector<double>();
  const std::vector<double> out = e.value(y).to_vector<double>();
  for (int c = 0; c < 3; ++c) {  // each channel of the output has mean 0 and variance ~1
    double sum = 0, sq = 0;
    for (int n = 0; n < 2; ++n) {
      for (int s = 0; s < 4; ++s) {
        const double o = out[static_cast<std::size_t>((n * 3 + c) * 4 + s)];
        sum += o;
        sq += o * o;
      }
    }
    EXPECT_NEAR(sum / 8, 0.0, 1e-12);
    EXPECT_NEAR(sq / 8, 1.0, 1e-4);  // var / (var + eps)
  }
}

TEST(OpValues, BatchNormNeedsMoreThanOneValuePerChannelToTrain) {
  Graph g;
  const Value x = g.input("x", Shape{1, 3});
  g.batch_norm_layer(x, {}, "bn");
  Executor e(g);
  e.set_input(x, Tensor::zeros(Shape{1, 3}));
  EXPECT_NE(error_of([&] { e.forward(Mode::kTrain); }).find("more than 1 value per channel"),
            std::string::npos);
  EXPECT_NO_THROW(e.forward(Mode::kEval));
}

TEST(OpValues, DropoutMaskIsAPureFunctionOfSeedNodeAndStep) {
  Graph g(2024);
  const Value x = g.input("x", Shape{100, 100});
  const Value y = g.dropout(x, 0.3, "drop");
  Executor e(g);
  e.set_input(x, Tensor::full(Shape{100, 100}, 1.0));
  e.forward(Mode::kTrain, 5);
  const std::vector<float> a = e.value(y).to_vector<float>();
  std::int64_t kept = 0;
  for (float v : a) {
    ASSERT_TRUE(v == 0.0f || v == static_cast<float>(1.0 / 0.7));
    kept += v != 0.0f;
  }
  // 10,000 Bernoulli(0.7) draws: standard deviation 46.
  EXPECT_NEAR(static_cast<double>(kept), 7000.0, 250.0);
  // Element i is kept when word i % 4 of block i / 4 is at or above the threshold.
  for (std::int64_t i : {0, 1, 2, 3, 4, 777, 9999}) {
    const PhiloxWords w =
        philox_block(2024, stable_id("drop"), 5, static_cast<std::uint64_t>(i / 4));
    EXPECT_EQ(a[static_cast<std::size_t>(i)] != 0.0f, w.w[i % 4] >= dropout_threshold(0.3)) << i;
  }
  e.forward(Mode::kTrain, 5);
  EXPECT_EQ(e.value(y).to_vector<float>(), a);
  e.forward(Mode::kTrain, 6);
  EXPECT_NE(e.value(y).to_vector<float>(), a);
}

// p = 1 would pass no signal (and scale by 1 / (1 - p)): refused; p = 0 is the identity.
TEST(OpValues, DropoutTakesPInZeroToOne) {
  const std::string m = test::error_of([] { run_op("dropout", {1.0, 2.0, 3.0}, {{"p", 1.0}}); });
  EXPECT_NE(m.find("attribute 'p' must be a number in [0, 1), got 1"), std::string::npos) << m;
  EXPECT_EQ(run_op("dropout", {1.0, 2.0, 3.0}, {{"p", 0.0}}), (std::vector<double>{1, 2, 3}));
}

TEST(OpValues, FloatAndDoubleAgree) {
  const Tensor in = test::random_tensor(Shape{1, 64}, 8, -4, 4);
  const std::vector<double> x = in.to_vector<double>();
  for (const OpDef* op : op_table()) {
    if (op->inputs.size() != 1 || op->name == "dropout" || op->name == "reshape") continue;
    const std::vector<double> d = run_op(op->name, x, {}, DType::kFloat64);
    const std::vector<double> f = run_op(op->name, x, {}, DType::kFloat32);
    // float32 rounding of inputs and results: a few ulps of 2^-24 relative.
    expect_all_near(f, d, 2e-6, op->name);
  }
}

}  // namespace
}  // namespace myelin
