// The graph builder (shape inference, errors naming the node) and the scheduler (order,
// autograd, fan-out, frozen parameters, modes, batch changes).
#include <gtest/gtest.h>

#include <cmath>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::error_of;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(GraphBuild, ShapesAreInferredWhenNodesAreAdded) {
  Graph g;
  const Value x = g.input("x", Shape{8, 3, 4, 4});
  const Value f = g.flatten(x, 1, "flat");
  const Value h = g.linear_layer(f, 10, {}, "fc");
  const Value r = g.reshape(h, {-1, 5}, "r");
  EXPECT_EQ(g.shape(f), (Shape{8, 48}));
  EXPECT_EQ(g.shape(h), (Shape{8, 10}));
  EXPECT_EQ(g.shape(r), (Shape{16, 5}));
  EXPECT_EQ(g.shape(g.find("fc.weight")), (Shape{10, 48}));
  const Value loss = g.mse_loss(h, g.input("t", Shape{8, 10}));
  EXPECT_EQ(g.shape(loss), Shape{});
}

TEST(GraphBuild, MismatchNamesTheNodeAndBothShapes) {
  Graph g;
  const Value x = g.input("x", Shape{4, 3});
  const Value w = g.parameter("w", Tensor::zeros(Shape{5, 2}));
  const std::string message = error_of([&] { g.linear(x, w, {}, "proj"); });
  EXPECT_TRUE(contains(message, "node 'proj' (linear)")) << message;
  EXPECT_TRUE(contains(message, "[4, 3]")) << message;
  EXPECT_TRUE(contains(message, "[5, 2]")) << message;

  const Value a = g.input("a", Shape{4, 3});
  const Value b = g.input("b", Shape{4, 2});
  const std::string add_message = error_of([&] { g.add(a, b, "sum"); });
  EXPECT_TRUE(contains(add_message, "node 'sum' (add)")) << add_message;
  EXPECT_TRUE(contains(add_message, "[4, 3]") && contains(add_message, "[4, 2]")) << add_message;
}

TEST(GraphBuild, BadAttributesAndInputsAreNamed) {
  Graph g;
  const Value x = g.input("x", Shape{4, 3});
  std::string m = error_of([&] { g.op("leaky_relu", {x}, {{"negative_slop", 0.1}}, "act"); });
  EXPECT_TRUE(contains(m, "unknown attribute 'negative_slop'")) << m;
  EXPECT_TRUE(contains(m, "did you mean 'negative_slope'")) << m;
  m = error_of([&] { g.op("dropout", {x}, {{"p", std::string("half")}}); });
  EXPECT_TRUE(contains(m, "attribute 'p' must be a number")) << m;
  m = error_of([&] { g.dropout(x, 1.5); });
  EXPECT_TRUE(contains(m, "attribute 'p' must be a number in [0, 1), got 1.5")) << m;
  m = error_of([&] { g.op("gelu", {x}, {{"approximate", std::string("fast")}}); });
  EXPECT_TRUE(contains(m, "attribute 'approximate' must be one of none, tanh, got \"fast\"")) << m;
  m = error_of([&] { g.softplus(x, 0.0); });
  EXPECT_TRUE(contains(m, "attribute 'beta' must be a number > 0, got 0")) << m;
  m = error_of([&] { g.op("relu", {}); });
  EXPECT_TRUE(contains(m, "input 'x' is required")) << m;
  m = error_of([&] { g.op("rleu", {x}); });
  EXPECT_TRUE(contains(m, "unknown op 'rleu'") && contains(m, "did you mean 'relu'")) << m;
  m = error_of([&] { g.input("x", Shape{1}); });
  EXPECT_TRUE(contains(m, "'x' is already used")) << m;
  m = error_of([&] { g.relu(Value{99}); });
  EXPECT_TRUE(contains(m, "does not belong to this graph")) << m;
  m = error_of([&] { g.find("y"); });
  EXPECT_TRUE(contains(m, "no value named 'y'")) << m;
  // An integer is accepted where a real attribute is expected.
  EXPECT_NO_THROW(g.op("leaky_relu", {x}, {{"negative_slope", std::int64_t{0}}}));
  const Value labels = g.input("labels", Shape{4}, DType::kFloat32);
  m = error_of([&] { g.softmax_cross_entropy(x, labels); });
  EXPECT_TRUE(contains(m, "integer class labels")) << m;
}

TEST(GraphBuild, ParameterGroupsAndFreezing) {
  Graph g;
  const Value x = g.input("x", Shape{2, 3});
  g.batch_norm_layer(g.linear_layer(x, 4, {}, "fc"), {}, "bn");
  EXPECT_EQ(g.info(g.find("fc.weight")).group, "weights");
  EXPECT_EQ(g.info(g.find("fc.bias")).group, "no_decay");
  EXPECT_EQ(g.info(g.find("bn.weight")).group, "no_decay");
  EXPECT_EQ(g.info(g.find("bn.num_batches_tracked")).meta.dtype, DType::kInt64);
  g.set_group(g.find("fc.weight"), "body");
  EXPECT_EQ(g.info(g.find("fc.weight")).group, "body");
  EXPECT_EQ(g.freeze_prefix("fc."), 2);
  EXPECT_TRUE(g.info(g.find("fc.bias")).frozen);
  EXPECT_EQ(g.parameters().size(), 4u);
  EXPECT_EQ(g.buffers().size(), 3u);
}

// A tiny regression graph used below: y = fc2(tanh(fc1(x))), loss = mse(y, t).
struct Mlp {
  Graph g{3};
  Value x, t, y, loss;
  Mlp() {
    x = g.input("x", Shape{6, 4});
    t = g.input("t", Shape{6, 2});
    y = g.linear_layer(g.tanh(g.linear_layer(x, 5, {}, "fc1")), 2, {}, "fc2");
    loss = g.mse_loss(y, t, "loss");
  }
  void feed(Executor& e, std::int64_t batch = 6) {
    e.set_input(x, test::random_tensor(Shape{batch, 4}, 1, -1, 1, DType::kFloat32));
    e.set_input(t, test::random_tensor(Shape{batch, 2}, 2, -1, 1, DType::kFloat32));
  }
};

TEST(Scheduler, FrozenParametersGetNoGradientAndNeverMove) {
  Mlp m;
  m.g.freeze_prefix("fc1.");
  const Tensor before = m.g.tensor(m.g.find("fc1.weight")).clone();
  const Tensor fc2_before = m.g.tensor(m.g.find("fc2.weight")).clone();
  Executor e(m.g);
  m.feed(e);
  Optimizer sgd(OptimizerOptions::sgd(0.5));
  for (int step = 0; step < 3; ++step) {
    e.forward();
    e.backward(m.loss);
    sgd.step(e);
  }
  EXPECT_EQ(e.trainable_parameters().size(), 2u);
  EXPECT_TRUE(bitwise_equal(m.g.tensor(m.g.find("fc1.weight")), before));
  EXPECT_FALSE(bitwise_equal(m.g.tensor(m.g.find("fc2.weight")), fc2_before));
  EXPECT_TRUE(contains(error_of([&] { e.grad(m.g.find("fc1.weight")); }), "frozen"));
}

TEST(Scheduler, TrainingOnTheCpuUpdatesTheGraphItself) {
  Mlp m;
  Executor e(m.g);
  m.feed(e);
  e.forward();
  const double first = e.value(m.loss).item();
  Optimizer sgd(OptimizerOptions::sgd(0.1));
  for (int step = 0; step < 50; ++step) {
    e.forward();
    e.backward(m.loss);
    sgd.step(e);
  }
  e.forward();
  EXPECT_LT(e.value(m.loss).item(), first);
  EXPECT_TRUE(e.param(m.g.find("fc1.weight")).shares_storage(m.g.tensor(m.g.find("fc1.weight"))));
}

TEST(Scheduler, FanOutGradientsAreAccumulated) {
  // y = x * 1 + x (identity and add); dy/dx = 2 for each element.
  Graph g;
  const Value x = g.input("x", Shape{2, 3});
  const Value y = g.add(g.identity(x), x);
  const Value z = g.add(y, y);  // the same value twice in one node: 4 in all
  ExecutorOptions options;
  options.input_grads = {x};
  Executor e(g, options);
  e.set_input(x, test::random_tensor(Shape{2, 3}, 5, -1, 1, DType::kFloat32));
  e.forward();
  e.backward(z, Tensor::full(Shape{2, 3}, 1.0));
  for (float v : e.grad(x).to_vector<float>()) EXPECT_EQ(v, 4.0f);
}

TEST(Scheduler, GradientAccumulationAddsBackwardPasses) {
  Mlp m;
  Executor e(m.g);
  m.feed(e);
  const Value w = m.g.find("fc1.weight");
  e.forward();
  e.backward(m.loss);
  const std::vector<float> once = e.grad(w).to_vector<float>();
  e.backward(m.loss, /*accumulate=*/true);
  const std::vector<float> twice = e.grad(w).to_vector<float>();
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_FLOAT_EQ(twice[i], 2.0f * once[i]);
  e.backward(m.loss);  // not accumulating: starts over
  EXPECT_EQ(e.grad(w).to_vector<float>(), once);
}

TEST(Scheduler, UnusedParametersGetZeroGradients) {
  Graph g;
  const Value x = g.input("x", Shape{2, 3});
  const Value used = g.linear_layer(x, 2, {}, "used");
  g.linear_layer(x, 2, {}, "unused");
  const Value loss = g.mse_loss(used, g.input("t", Shape{2, 2}));
  Executor e(g);
  e.set_input(x, Tensor::full(Shape{2, 3}, 1.0));
  e.set_input(g.find("t"), Tensor::zeros(Shape{2, 2}));
  e.forward();
  e.backward(loss);
  for (float v : e.grad(g.find("unused.weight")).to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

TEST(Scheduler, TopologicalOrderFollowsDependencies) {
  Graph g;
  const Value x = g.input("x", Shape{2, 2});
  const Value a = g.relu(x, "a");
  const Value b = g.tanh(a, "b");
  g.add(a, b, "c");
  Executor e(g);
  EXPECT_EQ(e.order(), (std::vector<int>{0, 1, 2}));
}

TEST(Scheduler, BatchSizeMayChangeBetweenRuns) {
  Mlp m;
  Executor e(m.g);
  m.feed(e, 6);
  e.forward();
  EXPECT_EQ(e.value(m.y).shape(), (Shape{6, 2}));
  m.feed(e, 3);
  e.forward();
  e.backward(m.loss);
  EXPECT_EQ(e.value(m.y).shape(), (Shape{3, 2}));
  EXPECT_EQ(e.grad(m.g.find("fc1.weight")).shape(), (Shape{5, 4}));
}

TEST(Scheduler, BadInputsAreClearErrors) {
  Mlp m;
  Executor e(m.g);
  std::string msg = error_of([&] { e.forward(); });
  EXPECT_TRUE(contains(msg, "input 'x'") && contains(msg, "is not set")) << msg;
  msg = error_of([&] { e.set_input(m.x, Tensor::zeros(Shape{6, 5})); });
  EXPECT_TRUE(contains(msg, "declared [6, 4], got [6, 5]")) << msg;
  msg = error_of([&] { e.set_input(m.x, Tensor::zeros(Shape{6, 4}, DType::kInt32)); });
  EXPECT_TRUE(contains(msg, "declared float32, got int32")) << msg;
  msg = error_of([&] { e.backward(m.loss); });
  EXPECT_TRUE(contains(msg, "run forward first")) << msg;
  m.feed(e);
  e.forward();
  msg = error_of([&] { e.backward(m.y); });
  EXPECT_TRUE(contains(msg, "a loss is a scalar")) << msg;
  m.g.relu(m.y);
  msg = error_of([&] { e.forward(); });
  EXPECT_TRUE(contains(msg, "graph changed")) << msg;
}

TEST(Scheduler, LabelsOutOfRangeNameTheNodeAndRow) {
  Graph g;
  const Value logits = g.input("logits", Shape{3, 4});
  const Value labels = g.input("labels", Shape{3}, DType::kInt64);
  const Value loss = g.softmax_cross_entropy(logits, labels, -100, "ce");
  Executor e(g);
  e.set_input(logits, Tensor::zeros(Shape{3, 4}));
  e.set_input(labels, Tensor::from_vector<std::int64_t>(Shape{3}, {0, 7, 1}));
  const std::string msg = error_of([&] { e.forward(); });
  EXPECT_TRUE(contains(msg, "node 'ce'") && contains(msg, "label 7 at row 1")) << msg;
  (void)loss;
}

TEST(Scheduler, EvalModeTurnsOffDropoutAndUsesRunningStatistics) {
  Graph g;
  const Value x = g.input("x", Shape{8, 3});
  const Value d = g.dropout(x, 0.5, "drop");
  const Value bn = g.batch_norm_layer(x, {}, "bn");
  Executor e(g);
  const Tensor input = test::random_tensor(Shape{8, 3}, 9, 1, 3, DType::kFloat32);
  e.set_input(x, input);
  e.forward(Mode::kEval);
  EXPECT_TRUE(bitwise_equal(e.value(d), input));
  // Fresh running statistics (mean 0, var 1): eval is x / sqrt(1 + eps).
  const std::vector<float> in = input.to_vector<float>();
  const std::vector<float> out = e.value(bn).to_vector<float>();
  for (std::size_t i = 0; i < in.size(); ++i)
    EXPECT_NEAR(out[i], in[i] / std::sqrt(1.0 + 1e-5), 1e-6);
  EXPECT_EQ(e.param(g.find("bn.num_batches_tracked")).item(), 0.0);
  e.forward(Mode::kTrain);
  EXPECT_EQ(e.param(g.find("bn.num_batches_tracked")).item(), 1.0);
  EXPECT_FALSE(bitwise_equal(e.value(d), input));
}

TEST(Scheduler, TwoGraphsLiveSideBySide) {
  Mlp a;
  Mlp b;
  Executor ea(a.g);
  Executor eb(b.g);
  a.feed(ea);
  b.feed(eb);
  Optimizer sgd(OptimizerOptions::sgd(0.1));
  ea.forward();
  ea.backward(a.loss);
  sgd.step(ea);
  ea.forward();
  eb.forward();
  // Same seed, same data: b is where a started; a moved.
  EXPECT_NE(ea.value(a.loss).item(), eb.value(b.loss).item());
  EXPECT_FALSE(
      bitwise_equal(a.g.tensor(a.g.find("fc1.weight")), b.g.tensor(b.g.find("fc1.weight"))));
}

TEST(Scheduler, DoubleExecutorsWorkOnCopiesAndWriteBack) {
  Mlp m;
  ExecutorOptions options;
  options.dtype = DType::kFloat64;
  Executor e(m.g, options);
  m.feed(e);
  const Value w = m.g.find("fc2.weight");
  EXPECT_EQ(e.param(w).dtype(), DType::kFloat64);
  const Tensor before = m.g.tensor(w).clone();
  e.forward();
  e.backward(m.loss);
  Optimizer(OptimizerOptions::sgd(0.5)).step(e);
  EXPECT_TRUE(bitwise_equal(m.g.tensor(w), before));
  e.write_back();
  EXPECT_FALSE(bitwise_equal(m.g.tensor(w), before));
  EXPECT_EQ(m.g.tensor(w).dtype(), DType::kFloat32);
}

}  // namespace
}  // namespace myelin

namespace myelin {
namespace {

// A user-defined op with two outputs: the left and right halves of the last axis.
OpDef split_halves_op() {
  OpDef d;
  d.name = "split_halves";
  d.inputs = {{"x"}};
  d.outputs = {"left", "right"};
  d.infer = [](InferCtx& ctx) {
    ctx.expect_floating(0);
    const Shape& s = ctx.shape(0);
    if (s.rank() != 2 || s[1] % 2 != 0) ctx.fail("needs [N, 2k], got ", s.str());
    ctx.set_output(0, Shape{s[0], s[1] / 2}, ctx.input(0).dtype);
    ctx.set_output(1, Shape{s[0], s[1] / 2}, ctx.input(0).dtype);
  };
  auto copy = [](const double* from, std::int64_t from_stride, std::int64_t from_offset, double* to,
                 std::int64_t to_stride, std::int64_t to_offset, std::int64_t rows,
                 std::int64_t cols) {
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t c = 0; c < cols; ++c) {
        to[r * to_stride + to_offset + c] = from[r * from_stride + from_offset + c];
      }
    }
  };
  d.impls[static_cast<int>(Backend::kCpu)].forward = [copy](const OpContext& ctx) {
    const std::int64_t rows = ctx.input(0).shape()[0], half = ctx.input(0).shape()[1] / 2;
    const double* x = ctx.input(0).data<double>();
    copy(x, 2 * half, 0, ctx.output(0).data<double>(), half, 0, rows, half);
    copy(x, 2 * half, half, ctx.output(1).data<double>(), half, 0, rows, half);
  };
  d.impls[static_cast<int>(Backend::kCpu)].backward = [copy](const OpContext& ctx) {
    const std::int64_t rows = ctx.input(0).shape()[0], half = ctx.input(0).shape()[1] / 2;
    double* dx = ctx.grad_input(0)->data<double>();
    copy(ctx.grad_output(0).data<double>(), half, 0, dx, 2 * half, 0, rows, half);
    copy(ctx.grad_output(1).data<double>(), half, 0, dx, 2 * half, half, rows, half);
  };
  return d;
}

TEST(CustomOps, SeveralOutputsAndOutputsNoGradientReaches) {
  const OpDef split = split_halves_op();
  Graph g;
  const Value x = g.input("x", Shape{3, 4}, DType::kFloat64);
  const std::vector<Value> halves = g.add_node(split, {x}, {}, {}, "split");
  ASSERT_EQ(halves.size(), 2u);
  EXPECT_EQ(g.name(halves[1]), "split.right");
  EXPECT_EQ(g.shape(halves[0]), (Shape{3, 2}));
  // Only the left half reaches the loss: the right half's gradient is zero.
  const Value loss = g.mse_loss(g.tanh(halves[0]), g.input("t", Shape{3, 2}, DType::kFloat64));
  ExecutorOptions options;
  options.dtype = DType::kFloat64;
  options.input_grads = {x};
  Executor e(g, options);
  e.set_input(x, test::random_tensor(Shape{3, 4}, 3));
  e.set_input(g.find("t"), Tensor::zeros(Shape{3, 2}, DType::kFloat64));
  e.forward();
  e.backward(loss);
  const std::vector<double> dx = e.grad(x).to_vector<double>();
  for (int r = 0; r < 3; ++r) {
    EXPECT_NE(dx[static_cast<std::size_t>(r * 4)], 0.0);
    EXPECT_EQ(dx[static_cast<std::size_t>(r * 4 + 2)], 0.0);
    EXPECT_EQ(dx[static_cast<std::size_t>(r * 4 + 3)], 0.0);
  }
  // Both halves used: the gradient checker agrees with the op's backward.
  const Value both = g.add(halves[0], halves[1]);
  GradcheckOptions check;
  check.inputs = {x};
  const GradcheckReport r = gradcheck(g, both, {{x, test::random_tensor(Shape{3, 4}, 4)}}, check);
  EXPECT_LT(r.worst_error(), 1e-6) << r.str();
  EXPECT_EQ(r.checked(), 12);
}

}  // namespace
}  // namespace myelin

namespace myelin {
namespace {

TEST(Scheduler, RequestedOutputsRunOnlyWhatTheyNeed) {
  // Inference without labels: only the nodes the logits depend on run.
  Graph g;
  const Value x = g.input("x", Shape{4, 3});
  const Value labels = g.input("labels", Shape{4}, DType::kInt64);
  const Value logits = g.linear_layer(x, 2, {}, "fc");
  const Value loss = g.softmax_cross_entropy(logits, labels);
  ExecutorOptions options;
  options.outputs = {logits};
  Executor e(g, options);
  EXPECT_EQ(e.order().size(), 1u);
  e.set_input(x, Tensor::full(Shape{4, 3}, 1.0));
  e.forward(Mode::kEval);
  EXPECT_EQ(e.value(logits).shape(), (Shape{4, 2}));
  EXPECT_NE(test::error_of([&] { e.value(loss); }).find("has not been computed"),
            std::string::npos);
}

}  // namespace
}  // namespace myelin

namespace myelin {
namespace {

// The typed builders restate PyTorch's defaults in their signatures: they must be the op table's.
TEST(GraphBuild, BuilderDefaultsAreTheOpTables) {
  Graph g;
  const Value x = g.input("x", Shape{4, 3});
  const Value labels = g.input("labels", Shape{4}, DType::kInt64);
  const std::vector<Value> built = {g.leaky_relu(x),
                                    g.elu(x),
                                    g.gelu(x),
                                    g.softplus(x),
                                    g.dropout(x),
                                    g.flatten(x),
                                    g.batch_norm_layer(x),
                                    g.softmax_cross_entropy(x, labels)};
  for (const Value v : built) {
    const Node& node = g.node(g.info(v).producer);
    for (const AttrSpec& spec : node.op->attrs) {
      EXPECT_EQ(node.attrs.get(spec.name), spec.default_value) << node.op->name << "." << spec.name;
    }
  }
  // Ops without attributes still refuse one.
  EXPECT_TRUE(contains(error_of([&] {
                         g.op("relu", {x}, {{"alpha", 1.0}});
                       }),
                       "this op takes no attributes"));
}

}  // namespace
}  // namespace myelin
