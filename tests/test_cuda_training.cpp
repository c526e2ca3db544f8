// A whole training step on the GPU (forward, loss, backward, global-norm clipping, Adam), ten
// times, against the CPU path; and the GPU against itself, bit for bit.
#include <gtest/gtest.h>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct TrainingRun {
  std::vector<Tensor> weights;
  std::vector<double> losses;
};

TrainingRun train(Device device, int steps) {
  const Dataset data = make_spirals(128, 2, 1.0, 0.05, 3);
  Graph g(11);
  const Value x = g.input("x", Shape{256, 2});
  const Value y = g.input("y", Shape{256}, DType::kInt64);
  Value h = g.relu(g.batch_norm_layer(g.linear_layer(x, 64, "fc1"), "bn"));
  h = g.dropout(h, 0.1, "drop");
  h = g.tanh(g.linear_layer(h, 64, "fc2"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, "fc3"), y);
  ExecutorOptions options;
  options.device = device;
  Executor e(g, options);
  e.set_input(x, data.x);
  e.set_input(y, data.y);
  Optimizer adam(OptimizerOptions::adam(1e-2));
  TrainingRun run;
  for (int step = 0; step < steps; ++step) {
    e.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
    e.backward(loss);
    adam.step(e, GradientClipping{1.0, 0.0});
    run.losses.push_back(e.value(loss).item());
  }
  e.write_back();
  for (Value p : g.parameters()) run.weights.push_back(g.tensor(p).clone());
  for (Value b : g.buffers()) run.weights.push_back(g.tensor(b).clone());
  return run;
}

TEST(CudaTraining, TenStepsMatchTheCpuPath) {
  MYELIN_REQUIRE_GPU();
  const TrainingRun cpu = train(Device::cpu(), 10);
  const TrainingRun gpu = train(Device::cuda(0), 10);
  for (std::size_t s = 0; s < cpu.losses.size(); ++s) {
    // Ten Adam steps amplify float32 rounding differences (summation orders of GEMMs and
    // reductions) a little at each step: 1e-4 relative on the loss.
    EXPECT_NEAR(gpu.losses[s], cpu.losses[s], 1e-4 * std::abs(cpu.losses[s])) << "step " << s;
  }
  ASSERT_EQ(cpu.weights.size(), gpu.weights.size());
  for (std::size_t k = 0; k < cpu.weights.size(); ++k) {
    const std::vector<double> a = cpu.weights[k].to_vector<double>();
    const std::vector<double> b = gpu.weights[k].to_vector<double>();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(a[i]));
    }
    // Same reason as above; the weights move by lr = 1e-2 per step at most.
    EXPECT_LT(diff, 1e-4 * std::max(scale, 1.0)) << "tensor " << k;
  }
}

TEST(CudaTraining, TwoGpuRunsGiveBitwiseIdenticalWeights) {
  MYELIN_REQUIRE_GPU();
  const TrainingRun a = train(Device::cuda(0), 10);
  const TrainingRun b = train(Device::cuda(0), 10);
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (std::size_t k = 0; k < a.weights.size(); ++k) {
    EXPECT_TRUE(bitwise_equal(a.weights[k], b.weights[k])) << "tensor " << k;
  }
  EXPECT_EQ(a.losses, b.losses);
}

}  // namespace
}  // namespace myelin
