// Gradient checks: every op of the op table in double by central differences, for several
// shapes (batch 1 where the op allows it, odd sizes such as 7 x 13, rank 4), whole networks,
// and planted bugs that the checker must catch. Each case prints its errors; tools/test
// collects these lines into its summary.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <map>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::normal_tensor;
using test::random_labels;
using test::random_tensor;

// The tolerance of the contract; see kGradcheckStep for why double central differences
// land near 1e-10.
constexpr double kTolerance = 1e-6;
constexpr double kMaxSkippedShare = 0.05;

struct Built {
  Value out;
  std::vector<std::pair<Value, Tensor>> feeds;
  std::vector<Value> wrt;  // inputs checked besides the parameters
  Mode mode = Mode::kTrain;
};

struct Case {
  std::string label;
  std::function<Built(Graph&)> build;
};

// Feeds a random float64 input and checks its gradient.
Value checked_input(Graph& g, Built& b, const std::string& name, const Shape& shape,
                    std::uint64_t seed, double stddev = 1.0) {
  const Value v = g.input(name, shape, DType::kFloat64);
  b.feeds.emplace_back(v, normal_tensor(shape, seed, stddev));
  b.wrt.push_back(v);
  return v;
}

Case unary(const std::string& op, const Shape& shape, const Attrs& attrs = {},
           double stddev = 1.0) {
  return {shape.str() + (attrs.items().empty() ? "" : " {" + attrs.str() + "}"), [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "x", shape, 11, stddev);
            b.out = g.op(op, {x}, attrs);
            return b;
          }};
}

std::vector<Case> unary_cases(const std::string& op, const Attrs& attrs = {}) {
  return {unary(op, Shape{1, 5}, attrs), unary(op, Shape{7, 13}, attrs),
          unary(op, Shape{2, 3, 4, 5}, attrs)};
}

Case linear_case(const Shape& x_shape, std::int64_t out, bool bias) {
  return {x_shape.str() + " -> " + std::to_string(out) + (bias ? "" : " no bias"), [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "x", x_shape, 12);
            const std::int64_t in = x_shape.dim(-1);
            const Value w = g.parameter("w", random_tensor(Shape{out, in}, 13));
            const Value bv = bias ? g.parameter("b", random_tensor(Shape{out}, 14)) : Value{};
            b.out = g.linear(x, w, bv);
            return b;
          }};
}

Case batch_norm_case(const Shape& shape, Mode mode) {
  return {shape.str() + (mode == Mode::kTrain ? " train" : " eval"), [=](Graph& g) {
            Built b;
            b.mode = mode;
            const Value x = checked_input(g, b, "x", shape, 15, 2.0);
            const Shape c{shape[1]};
            const Value w = g.parameter("w", random_tensor(c, 16, 0.5, 1.5));
            const Value bias = g.parameter("b", random_tensor(c, 17));
            // Non-trivial running statistics, so that eval mode is a real test.
            const Value rm = g.buffer("rm", random_tensor(c, 18));
            const Value rv = g.buffer("rv", random_tensor(c, 19, 0.5, 2.0));
            const Value count = g.buffer("n", Tensor::zeros(Shape{}, DType::kInt64));
            b.out = g.batch_norm(x, w, bias, rm, rv, count);
            return b;
          }};
}

Case dropout_case(const Shape& shape, Mode mode) {
  return {shape.str() + (mode == Mode::kTrain ? " p=0.3 train" : " eval"), [=](Graph& g) {
            Built b;
            b.mode = mode;
            b.out = g.dropout(checked_input(g, b, "x", shape, 20), 0.3);
            return b;
          }};
}

Case two_input_case(const std::string& op, const Shape& shape) {
  return {shape.str(), [=](Graph& g) {
            Built b;
            const Value a = checked_input(g, b, "a", shape, 21);
            const Value c = checked_input(g, b, "b", shape, 22);
            b.out = g.op(op, {a, c});
            return b;
          }};
}

Case cross_entropy_case(std::int64_t n, std::int64_t classes, const Attrs& attrs,
                        bool some_ignored) {
  return {"[" + std::to_string(n) + ", " + std::to_string(classes) + "]" +
              (attrs.items().empty() ? "" : " {" + attrs.str() + "}") +
              (some_ignored ? " with ignored rows" : ""),
          [=](Graph& g) {
            Built b;
            const Value logits = checked_input(g, b, "logits", Shape{n, classes}, 23, 2.0);
            const Value labels = g.input("labels", Shape{n}, DType::kInt64);
            Tensor y = random_labels(n, classes, 24);
            if (some_ignored) y.data<std::int64_t>()[0] = -100;
            b.feeds.emplace_back(labels, y);
            b.out = g.op("softmax_cross_entropy", {logits, labels}, attrs);
            return b;
          }};
}

Case bce_case(const Shape& shape, bool masked) {
  return {shape.str() + (masked ? " masked" : ""), [=](Graph& g) {
            Built b;
            const Value x = checked_input(g, b, "logits", shape, 25, 2.0);
            const Value t = g.input("targets", shape, DType::kFloat64);
            b.feeds.emplace_back(t, random_tensor(shape, 26, 0.0, 1.0));
            Value m;
            if (masked) {
              m = g.input("mask", shape, DType::kUInt8);
              Tensor mask = random_tensor(shape, 27, 0.0, 1.0).to(DType::kFloat64);
              for (std::int64_t i = 0; i < mask.numel(); ++i) {
                mask.data<double>()[i] = mask.data<double>()[i] < 0.6 ? 1.0 : 0.0;
              }
              b.feeds.emplace_back(m, mask.to(DType::kUInt8));
            }
            b.out = g.bce_with_logits(x, t, m);
            return b;
          }};
}

Case shape_case(const std::string& op, const Shape& shape, const Attrs& attrs) {
  return {shape.str() + " {" + attrs.str() + "}", [=](Graph& g) {
            Built b;
            b.out = g.op(op, {checked_input(g, b, "x", shape, 28)}, attrs);
            return b;
          }};
}

// The cases of every op, by name. An op of the table without an entry fails the test below.
const std::map<std::string, std::vector<Case>>& op_cases() {
  static const std::map<std::string, std::vector<Case>> cases = [] {
    std::map<std::string, std::vector<Case>> c;
    c["linear"] = {linear_case(Shape{1, 13}, 5, true), linear_case(Shape{7, 13}, 5, true),
                   linear_case(Shape{7, 13}, 4, false), linear_case(Shape{2, 3, 6}, 4, true)};
    for (const char* op : {"identity", "relu", "sigmoid", "tanh", "abs", "silu"}) {
      c[op] = unary_cases(op);
    }
    c["leaky_relu"] = unary_cases("leaky_relu");
    c["leaky_relu"].push_back(unary("leaky_relu", Shape{7, 13}, {{"negative_slope", 0.3}}));
    c["elu"] = unary_cases("elu");
    c["elu"].push_back(unary("elu", Shape{7, 13}, {{"alpha", 0.5}}));
    c["gelu"] = unary_cases("gelu");
    c["gelu"].push_back(unary("gelu", Shape{7, 13}, {{"approximate", std::string("tanh")}}));
    c["softplus"] = unary_cases("softplus");
    // Beyond the threshold (beta x > 3) the op is x itself.
    c["softplus"].push_back(
        unary("softplus", Shape{7, 13}, {{"beta", 2.0}, {"threshold", 3.0}}, 2.0));
    c["softmax"] = unary_cases("softmax");
    c["log_softmax"] = unary_cases("log_softmax");
    c["batch_norm"] = {batch_norm_case(Shape{7, 13}, Mode::kTrain),
                       batch_norm_case(Shape{2, 3, 4, 5}, Mode::kTrain),
                       batch_norm_case(Shape{1, 3, 2, 2}, Mode::kTrain),
                       batch_norm_case(Shape{1, 13}, Mode::kEval),
                       batch_norm_case(Shape{2, 3, 4, 5}, Mode::kEval)};
    c["dropout"] = {dropout_case(Shape{1, 5}, Mode::kTrain),
                    dropout_case(Shape{7, 13}, Mode::kTrain),
                    dropout_case(Shape{7, 13}, Mode::kEval)};
    c["add"] = {two_input_case("add", Shape{1, 5}), two_input_case("add", Shape{7, 13})};
    c["mse_loss"] = {two_input_case("mse_loss", Shape{1, 5}),
                     two_input_case("mse_loss", Shape{7, 13})};
    c["reshape"] = {
        shape_case("reshape", Shape{7, 12}, {{"shape", std::vector<std::int64_t>{-1, 4, 3}}}),
        shape_case("reshape", Shape{1, 5}, {{"shape", std::vector<std::int64_t>{5}}})};
    c["flatten"] = {shape_case("flatten", Shape{2, 3, 4, 5}, {{"start_dim", std::int64_t{1}}}),
                    shape_case("flatten", Shape{7, 13}, {{"start_dim", std::int64_t{0}}})};
    c["softmax_cross_entropy"] = {cross_entropy_case(1, 5, {}, false),
                                  cross_entropy_case(7, 13, {}, false),
                                  cross_entropy_case(7, 13, {}, true),
                                  cross_entropy_case(7, 13, {{"label_smoothing", 0.2}}, false)};
    c["bce_with_logits"] = {bce_case(Shape{1, 5}, false), bce_case(Shape{7, 13}, false),
                            bce_case(Shape{7, 13}, true)};
    return c;
  }();
  return cases;
}

GradcheckReport check(Graph& g, const Built& b) {
  GradcheckOptions options;
  options.inputs = b.wrt;
  options.mode = b.mode;
  options.run_step = 3;
  return gradcheck(g, b.out, b.feeds, options);
}

void print(const std::string& what, const GradcheckReport& r) {
  std::cout << "gradcheck " << what << ": worst " << std::scientific << r.worst_error()
            << " checked " << r.checked() << " skipped " << r.skipped() << "\n"
            << r.str();
}

class OpGradcheck : public testing::TestWithParam<std::string> {};

TEST_P(OpGradcheck, MatchesCentralDifferencesInDouble) {
  const std::string& op = GetParam();
  const auto it = op_cases().find(op);
  ASSERT_NE(it, op_cases().end()) << "op '" << op << "' of the op table has no gradient-check case";
  for (const Case& c : it->second) {
    Graph g(42);
    const Built b = c.build(g);
    ASSERT_EQ(g.nodes().back().op->name, op) << c.label;
    const GradcheckReport r = check(g, b);
    print(op + " " + c.label, r);
    EXPECT_GT(r.checked(), 0) << c.label;
    EXPECT_LT(r.worst_error(), kTolerance) << op << " " << c.label << "\n" << r.str();
    EXPECT_LT(r.skipped_share(), kMaxSkippedShare) << op << " " << c.label;
  }
}

std::vector<std::string> table_names() {
  std::vector<std::string> names;
  for (const OpDef* op : op_table()) names.push_back(op->name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(OpTable, OpGradcheck, testing::ValuesIn(table_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(GradcheckNetworks, LinearBatchNormReluDropoutLinearCrossEntropy) {
  Graph g(7);
  Built b;
  const Value x = checked_input(g, b, "x", Shape{16, 6}, 31);
  const Value y = g.input("y", Shape{16}, DType::kInt64);
  b.feeds.emplace_back(y, random_labels(16, 4, 32));
  Value h = g.linear_layer(x, 10, "fc1");
  h = g.batch_norm_layer(h, "bn");
  h = g.relu(h);
  h = g.dropout(h, 0.25, "drop");
  const Value logits = g.linear_layer(h, 4, "fc2");
  b.out = g.softmax_cross_entropy(logits, y);
  const GradcheckReport r = check(g, b);
  print("network linear-bn-relu-dropout-linear-ce", r);
  EXPECT_EQ(r.entries.size(), 7u);  // fc1 w/b, bn w/b, fc2 w/b, x
  EXPECT_LT(r.worst_error(), kTolerance) << r.str();
  EXPECT_LT(r.skipped_share(), kMaxSkippedShare);
}

TEST(GradcheckNetworks, OneValueFeedsTwoBranchesThatAreAddedBack) {
  Graph g(8);
  Built b;
  const Value x = checked_input(g, b, "x", Shape{5, 4}, 33);
  const Value h = g.tanh(g.linear_layer(x, 6, "trunk"));
  const Value left = g.sigmoid(g.linear_layer(h, 6, "left"));
  const Value right = g.linear_layer(h, 6, "right");
  const Value sum = g.add(g.add(left, right), h);  // h is used three times
  const Value t = g.input("t", Shape{5, 6}, DType::kFloat64);
  b.feeds.emplace_back(t, random_tensor(Shape{5, 6}, 34));
  b.out = g.mse_loss(sum, t);
  const GradcheckReport r = check(g, b);
  print("network fan-out", r);
  EXPECT_LT(r.worst_error(), kTolerance) << r.str();
}

TEST(GradcheckKinks, CrossingsAreDetectedAndSkipped) {
  // relu's input is exactly 0 at two elements: perturbing them crosses the kink.
  Graph g;
  const Value x = g.input("x", Shape{1, 4}, DType::kFloat64);
  const Value y = g.relu(x);
  const GradcheckReport r =
      gradcheck(g, y, {{x, Tensor::from_vector<double>(Shape{1, 4}, {0.0, 1.0, 0.0, -2.0})}},
                GradcheckOptions{kGradcheckStep, Mode::kTrain, 0, {x}});
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].skipped, 2);
  EXPECT_EQ(r.entries[0].checked, 2);
  EXPECT_LT(r.worst_error(), kTolerance);
}

// ---- planted bugs ----------------------------------------------------------------------------

TEST(GradcheckPlantedBugs, BackwardScaledOnOneElementIsCaught) {
  OpDef bad = find_op("tanh");
  bad.name = "tanh_with_bug";
  const KernelFn good = bad.impl(Backend::kCpu).backward;
  bad.impls[static_cast<int>(Backend::kCpu)].backward = [good](const OpContext& ctx) {
    good(ctx);
    ctx.grad_input(0)->data<double>()[3] *= 1.001;
  };
  Graph g;
  Built b;
  const Value x = checked_input(g, b, "x", Shape{7, 13}, 35);
  b.out = g.add_node(bad, {x})[0];
  const GradcheckReport r = check(g, b);
  print("planted bug: tanh backward x1.001 at element 3", r);
  EXPECT_GT(r.worst_error(), kTolerance);
  EXPECT_EQ(r.entries[0].worst_index, 3);
}

TEST(GradcheckPlantedBugs, BatchNormBackwardWithoutItsMeanTermIsCaught) {
  // dx = w invstd (dy - mean(dy) - xhat mean(dy xhat)); the bug drops "- mean(dy)". Built from
  // the real backward by adding that term back.
  OpDef bad = find_op("batch_norm");
  bad.name = "batch_norm_without_mean_term";
  const KernelFn good = bad.impl(Backend::kCpu).backward;
  bad.impls[static_cast<int>(Backend::kCpu)].backward = [good](const OpContext& ctx) {
    good(ctx);
    const Shape& s = ctx.input(0).shape();
    const std::int64_t n = s[0], c = s[1], inner = s.numel() / (n * c);
    const double* dy = ctx.grad_output(0).data<double>();
    const double* w = ctx.input(1).data<double>();
    const double* invstd = ctx.saved_tensor(1).data<double>();
    double* dx = ctx.grad_input(0)->data<double>();
    for (std::int64_t ch = 0; ch < c; ++ch) {
      double mean_dy = 0;
      for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t k = 0; k < inner; ++k) mean_dy += dy[(i * c + ch) * inner + k];
      }
      mean_dy /= static_cast<double>(n * inner);
      for (std::int64_t i = 0; i < n; ++i) {
        for (std::int64_t k = 0; k < inner; ++k) {
          dx[(i * c + ch) * inner + k] += w[ch] * invstd[ch] * mean_dy;
        }
      }
    }
  };
  Graph g;
  Built b;
  const Value x = checked_input(g, b, "x", Shape{8, 5}, 36);
  const Shape c{5};
  const Value w = g.parameter("w", random_tensor(c, 37, 0.5, 1.5));
  const Value bias = g.parameter("b", random_tensor(c, 38));
  const Value rm = g.buffer("rm", Tensor::zeros(c));
  const Value rv = g.buffer("rv", Tensor::full(c, 1.0));
  const Value count = g.buffer("n", Tensor::zeros(Shape{}, DType::kInt64));
  b.out = g.add_node(bad, {x, w, bias}, {}, {rm, rv, count})[0];
  const GradcheckReport r = check(g, b);
  print("planted bug: batch_norm backward without its mean term", r);
  double x_error = 0;
  for (const GradcheckEntry& e : r.entries) {
    if (e.name == "x") x_error = e.worst_error;
  }
  EXPECT_GT(x_error, kTolerance);
}

}  // namespace
}  // namespace myelin
