// Gradient checks: every op of the op table in double by central differences, for several
// shapes (batch 1 where the op allows it, odd sizes such as 7 x 13, rank 4), whole networks,
// and planted bugs that the checker must catch. Each case prints its errors; tools/test
// collects these lines into its summary.
#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <map>

#include "myelin/myelin.hpp"
#include "op_cases.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::Built;
using test::Case;
using test::checked_input;
using test::normal_tensor;
using test::random_labels;
using test::random_tensor;

// The tolerance of the contract; see kGradcheckStep for why double central differences
// land near 1e-10.
constexpr double kTolerance = 1e-6;
constexpr double kMaxSkippedShare = 0.05;

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
  const auto& all = test::op_cases(test::CaseSet::kGradcheck);
  const auto it = all.find(op);
  ASSERT_NE(it, all.end()) << "op '" << op << "' of the op table has no gradient-check case";
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

INSTANTIATE_TEST_SUITE_P(OpTable, OpGradcheck, testing::ValuesIn(test::table_names()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(GradcheckNetworks, LinearBatchNormReluDropoutLinearCrossEntropy) {
  Graph g(7);
  Built b;
  const Value x = checked_input(g, b, "x", Shape{16, 6}, 31);
  const Value y = g.input("y", Shape{16}, DType::kInt64);
  b.feeds.emplace_back(y, random_labels(16, 4, 32));
  Value h = g.linear_layer(x, 10, {}, "fc1");
  h = g.batch_norm_layer(h, {}, "bn");
  h = g.relu(h);
  h = g.dropout(h, 0.25, "drop");
  const Value logits = g.linear_layer(h, 4, {}, "fc2");
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
  const Value h = g.tanh(g.linear_layer(x, 6, {}, "trunk"));
  const Value left = g.sigmoid(g.linear_layer(h, 6, {}, "left"));
  const Value right = g.linear_layer(h, 6, {}, "right");
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
