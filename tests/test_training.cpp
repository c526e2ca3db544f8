// Whole training runs on the CPU path.
#include <gtest/gtest.h>

#include "myelin/app.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct SpiralRun {
  double loss_first = 0, loss_last = 0, accuracy = 0;
  Tensor fc1;
};

SpiralRun train_spirals(int threads, std::int64_t steps, std::int64_t points = 500) {
  const Dataset data = make_spirals(points, 2, 1.5, 0.02, 0);
  const std::int64_t n = data.x.shape()[0];
  Graph g(0);
  const Value x = g.input("x", Shape{n, 2});
  const Value y = g.input("y", Shape{n}, DType::kInt64);
  Value h = g.tanh(g.linear_layer(x, 64, {}, "fc1"));
  h = g.tanh(g.linear_layer(h, 64, {}, "fc2"));
  const Value logits = g.linear_layer(h, 2, {}, "fc3");
  const Value loss = g.softmax_cross_entropy(logits, y);
  ExecutorOptions options;
  options.num_threads = threads;
  Executor e(g, options);
  e.set_input(x, data.x);
  e.set_input(y, data.y);
  Optimizer sgd(OptimizerOptions::sgd(0.3));
  SpiralRun run;
  for (std::int64_t step = 0; step < steps; ++step) {
    e.forward();
    e.backward(loss);
    sgd.step(e);
    if (step == 0) run.loss_first = e.value(loss).item();
  }
  e.forward(Mode::kEval);
  run.loss_last = e.value(loss).item();
  run.accuracy = accuracy(e.value(logits), data.y);
  run.fc1 = g.tensor(g.find("fc1.weight")).clone();
  return run;
}

TEST(Training, SpiralsMlpWithSgdReaches95PercentTrainingAccuracy) {
  // The demo's setting (tools/quickstart): 1,000 points, 2-64-64-2 tanh MLP, full-batch SGD at
  // lr 0.3. It passes 95% near step 1,900; 3,000 steps leave a margin.
  const SpiralRun run = train_spirals(0, 3000);
  std::cout << "spirals: loss " << run.loss_first << " -> " << run.loss_last << ", accuracy "
            << run.accuracy << "\n";
  EXPECT_GE(run.accuracy, 0.95);
  EXPECT_LT(run.loss_last, 0.5 * run.loss_first);
}

TEST(Training, CpuResultsAreTheSameBitsForOneAndTwoThreads) {
  // 2,000 points: large enough that the loops and GEMMs really split across threads.
  const SpiralRun one = train_spirals(1, 20, 1000);
  const SpiralRun two = train_spirals(2, 20, 1000);
  EXPECT_TRUE(bitwise_equal(one.fc1, two.fc1));
  EXPECT_EQ(one.loss_last, two.loss_last);
}

TEST(Training, SpiralsAreDeterministicAndBalanced) {
  const Dataset a = make_spirals(100, 3, 1.0, 0.05, 9);
  const Dataset b = make_spirals(100, 3, 1.0, 0.05, 9);
  EXPECT_TRUE(bitwise_equal(a.x, b.x));
  EXPECT_EQ(a.x.shape(), (Shape{300, 2}));
  std::int64_t counts[3] = {0, 0, 0};
  for (std::int64_t label : a.y.to_vector<std::int64_t>()) ++counts[label];
  for (std::int64_t c : counts) EXPECT_EQ(c, 100);
}

}  // namespace
}  // namespace myelin
