// Whole training steps on the GPU (forward, loss, backward, global-norm clipping, the update):
// ten of them against the CPU path, and the GPU against itself, bit for bit.
#include <gtest/gtest.h>

#include <iostream>
#include <string>

#include "myelin/app.hpp"
#include "nonfinite_runs.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

struct TrainingRun {
  std::vector<std::pair<std::string, Tensor>> weights;  // parameters and buffers
  std::vector<double> losses;
};

// `bias_before_norm`: fc1 keeps a bias that feeds training-mode batch norm. Its true gradient is
// 0 (the batch mean removes it), so in float32 it is rounding noise (~1e-9), and Adam (eps 1e-8)
// turns that noise into updates of 1e-3..1e-2 whose sign depends on the summation order: on the
// CPU moving one input by an ulp moves fc1.bias by 4e-3 and the running mean by 1e-3. Such a
// model is repeatable on one device, bit for bit, but not comparable across devices.
// `frozen_body`: fc1 and bn are frozen and bn runs in eval mode (transfer learning's frozen body).
TrainingRun train(Device device, int steps, const OptimizerOptions& rule, bool bias_before_norm,
                  bool frozen_body = false) {
  const Dataset data = make_spirals(128, 2, 1.0, 0.05, 3);
  Graph g(11);
  const Value x = g.input("x", Shape{256, 2});
  const Value y = g.input("y", Shape{256}, DType::kInt64);
  Value h = g.relu(g.batch_norm_layer(
      g.linear_layer(x, 64, LinearOptions{bias_before_norm, {}, {}}, "fc1"), {}, "bn"));
  h = g.dropout(h, 0.1, "drop");
  h = g.tanh(g.linear_layer(h, 64, {}, "fc2"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "fc3"), y);
  if (frozen_body) {
    g.freeze_prefix("fc1.");
    g.freeze_prefix("bn.");
    g.set_eval_mode("bn", true);
    // Running statistics as a trained body has them, not the initial 0 and 1.
    g.tensor(g.find("bn.running_mean")).fill(0.25);
    g.tensor(g.find("bn.running_var")).fill(2.0);
  }
  ExecutorOptions options;
  options.device = device;
  Executor e(g, options);
  e.set_input(x, data.x);
  e.set_input(y, data.y);
  Optimizer optimizer(rule);
  TrainingRun run;
  for (int step = 0; step < steps; ++step) {
    e.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
    e.backward(loss);
    optimizer.step(e, GradientClipping{1.0, 0.0});
    run.losses.push_back(e.value(loss).item());
  }
  e.write_back();
  for (Value p : g.parameters()) run.weights.emplace_back(g.name(p), g.tensor(p).clone());
  for (Value b : g.buffers()) run.weights.emplace_back(g.name(b), g.tensor(b).clone());
  return run;
}

TEST(CudaTraining, TenStepsMatchTheCpuPath) {
  MYELIN_REQUIRE_GPU();
  // SGD with momentum on a model with no bias before batch norm: every weight's gradient is
  // signal, so rounding differences stay rounding differences.
  const OptimizerOptions rule = OptimizerOptions::momentum_sgd(0.1, 0.9);
  const TrainingRun cpu = train(Device::cpu(), 10, rule, false);
  const TrainingRun gpu = train(Device::cuda(0), 10, rule, false);
  for (std::size_t s = 0; s < cpu.losses.size(); ++s) {
    // GEMMs and reductions add in other orders (the op tolerances, ~1e-6), and ten updates
    // carry the differences forward: 1e-5 relative on the loss.
    EXPECT_NEAR(gpu.losses[s], cpu.losses[s], 1e-5 * std::abs(cpu.losses[s])) << "step " << s;
  }
  ASSERT_EQ(cpu.weights.size(), gpu.weights.size());
  for (std::size_t k = 0; k < cpu.weights.size(); ++k) {
    const std::vector<double> a = cpu.weights[k].second.to_vector<double>();
    const std::vector<double> b = gpu.weights[k].second.to_vector<double>();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(a[i] - b[i]));
      scale = std::max(scale, std::abs(a[i]));
    }
    // The same reason: 1e-5 of each tensor's scale.
    EXPECT_LT(diff, 1e-5 * std::max(scale, 1.0)) << cpu.weights[k].first;
    std::cout << "cuda-vs-cpu training " << cpu.weights[k].first << ": max difference " << diff
              << " (scale " << scale << ")\n";
  }
}

// Transfer learning's frozen body: the batch norm of frozen layers normalises with its running
// statistics and keeps them, on the GPU as on the CPU, bit for bit.
TEST(CudaTraining, AFrozenBatchNormKeepsItsStatisticsAndMatchesTheCpu) {
  MYELIN_REQUIRE_GPU();
  const OptimizerOptions rule = OptimizerOptions::momentum_sgd(0.1, 0.9);
  const TrainingRun initial = train(Device::cpu(), 0, rule, true, true);
  const TrainingRun cpu = train(Device::cpu(), 10, rule, true, true);
  const TrainingRun gpu = train(Device::cuda(0), 10, rule, true, true);
  for (std::size_t s = 0; s < cpu.losses.size(); ++s) {
    EXPECT_NEAR(gpu.losses[s], cpu.losses[s], 1e-5 * std::abs(cpu.losses[s])) << "step " << s;
  }
  for (std::size_t k = 0; k < initial.weights.size(); ++k) {
    const std::string& name = initial.weights[k].first;
    const bool body = name.rfind("fc1.", 0) == 0 || name.rfind("bn.", 0) == 0;
    for (const TrainingRun* run : {&cpu, &gpu}) {
      EXPECT_EQ(bitwise_equal(run->weights[k].second, initial.weights[k].second), body) << name;
    }
  }
}

// The non-finite policy on the device. Whether a step's update is applied is decided there,
// inside the captured step (the host reads the values one update late): a diverging run stops
// with the weights finite, at most one queued update after its first non-finite step (the host
// reads what has come back before it queues an update), under every schedule of the device.
TEST(CudaTraining, ADivergingRunStopsWithFiniteWeights) {
  MYELIN_REQUIRE_GPU();
  for (const std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
    SCOPED_TRACE("schedule seed " + std::to_string(seed));
    test::ScheduleSeed scope(seed);
    test::NonFiniteSetup setup;
    setup.device = Device::cuda(0);
    setup.rule = OptimizerOptions::sgd(1e6);
    setup.epochs = 5;
    const test::NonFiniteRun run = test::nonfinite_run(setup);
    ASSERT_FALSE(run.error.empty()) << "the run did not diverge";
    EXPECT_FALSE(run.failed.finite());
    std::size_t at = 0;
    while (at < run.steps.size() && run.steps[at].step != run.failed.step) {
      EXPECT_TRUE(run.steps[at].finite()) << "step " << run.steps[at].step;
      ++at;
    }
    ASSERT_LT(at, run.steps.size());
    EXPECT_LE(run.steps.size() - at, 2u) << "the step, and at most one update queued behind it";
    EXPECT_NE(run.error.find("training stopped at step " + std::to_string(run.failed.step) + " "),
              std::string::npos)
        << run.error;
    EXPECT_EQ(test::nonfinite_tensors(run), std::vector<std::string>{});
  }
}

// A skipped step inside a replayed CUDA Graph changes no weight and no running statistic: the
// same bits as the run without that batch.
TEST(CudaTraining, ASkippedStepChangesNothingInsideACapturedStep) {
  MYELIN_REQUIRE_GPU();
  test::NonFiniteSetup setup;
  setup.device = Device::cuda(0);
  setup.policy = NonFinitePolicy::kSkip;
  setup.poisoned_batch = 7;  // the last of 8: its step is a replay of the captured graph
  const test::NonFiniteRun poisoned = test::nonfinite_run(setup);
  setup.poisoned_batch = -1;
  setup.rows = 7 * 32;
  const test::NonFiniteRun prefix = test::nonfinite_run(setup);
  EXPECT_EQ(poisoned.error, "");
  ASSERT_EQ(poisoned.steps.size(), 8u);
  EXPECT_TRUE(poisoned.steps[7].skipped);
  EXPECT_EQ(poisoned.position.nonfinite_steps, 1);
  ASSERT_EQ(poisoned.state.size(), prefix.state.size());
  for (std::size_t k = 0; k < poisoned.state.size(); ++k) {
    const auto& [name, value] = poisoned.state[k];
    if (name == "bn.num_batches_tracked") continue;  // counts the skipped forward pass too
    EXPECT_TRUE(bitwise_equal(value, prefix.state[k].second)) << name;
  }
}

// Training with diagnostics every `every` steps (0: none) on spirals: the diagnostics seen and
// the weights after two epochs.
struct DiagnosedRun {
  std::vector<Diagnostics> diagnostics;
  std::vector<Tensor> state;
};

DiagnosedRun diagnosed_run(Device device, std::int64_t every) {
  const Dataset data = make_spirals(128, 2, 1.0, 0.05, 5);
  Graph g(13);
  const Value x = g.input("x", Shape{64, 2});
  const Value y = g.input("y", Shape{64}, DType::kInt64);
  Value h = g.relu(g.batch_norm_layer(g.linear_layer(x, 32, {}, "fc1"), {}, "bn"));
  h = g.sigmoid(g.linear_layer(h, 32, {}, "fc2"));
  h = g.tanh(g.linear_layer(h, 32, {}, "fc3"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "out"), y);
  Optimizer optimizer(OptimizerOptions::momentum_sgd(0.1, 0.9));
  TrainOptions options;
  options.batch_size = 64;
  options.epochs = 2;
  options.diagnostics_every = every;
  options.executor.device = device;
  Trainer trainer(g, loss, optimizer, options);
  DiagnosedRun run;
  trainer.on_diagnostics = [&](const Diagnostics& d) { run.diagnostics.push_back(d); };
  trainer.fit({{x, data.x}, {y, data.y}});
  for (Value p : g.parameters()) run.state.push_back(g.tensor(p).clone());
  for (Value b : g.buffers()) run.state.push_back(g.tensor(b).clone());
  return run;
}

// Diagnostics on the device (activation statistics by a kernel, norms by device reductions) agree
// with the CPU's, and diagnostic steps, which run outside the CUDA Graph, change no bit of
// training.
TEST(CudaTraining, DiagnosticsMatchTheCpuAndChangeNoBitOfTraining) {
  MYELIN_REQUIRE_GPU();
  const DiagnosedRun cpu = diagnosed_run(Device::cpu(), 3);
  const DiagnosedRun gpu = diagnosed_run(Device::cuda(0), 3);
  const DiagnosedRun plain = diagnosed_run(Device::cuda(0), 0);
  ASSERT_EQ(gpu.diagnostics.size(), 3u);  // 8 steps: 1, 4 and 7
  ASSERT_EQ(cpu.diagnostics.size(), gpu.diagnostics.size());
  auto near = [](double a, double b) {
    return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b));
  };
  for (std::size_t i = 0; i < gpu.diagnostics.size(); ++i) {
    const Diagnostics& c = cpu.diagnostics[i];
    const Diagnostics& d = gpu.diagnostics[i];
    EXPECT_EQ(d.step, c.step);
    EXPECT_TRUE(near(d.grad_norm, c.grad_norm)) << d.grad_norm << " " << c.grad_norm;
    ASSERT_EQ(d.parameters.size(), c.parameters.size());
    for (std::size_t k = 0; k < d.parameters.size(); ++k) {
      EXPECT_EQ(d.parameters[k].name, c.parameters[k].name);
      // Rounding differences of the training steps before (1e-5 relative, TenStepsMatchTheCpu)
      // and of the reductions: 1e-4 relative.
      EXPECT_TRUE(near(d.parameters[k].grad_norm, c.parameters[k].grad_norm))
          << d.parameters[k].name;
      EXPECT_TRUE(near(d.parameters[k].weight_norm, c.parameters[k].weight_norm));
      if (std::isnan(c.parameters[k].update_ratio)) {  // a weight norm of 0 (a zero bias)
        EXPECT_TRUE(std::isnan(d.parameters[k].update_ratio));
      } else {
        EXPECT_NEAR(d.parameters[k].update_ratio, c.parameters[k].update_ratio,
                    1e-3 * c.parameters[k].update_ratio);
      }
    }
    ASSERT_EQ(d.activations.size(), 3u);
    ASSERT_EQ(c.activations.size(), 3u);
    for (std::size_t k = 0; k < 3; ++k) {
      const ActivationDiagnostics& a = d.activations[k];
      const ActivationDiagnostics& b = c.activations[k];
      EXPECT_EQ(a.op, b.op);
      EXPECT_EQ(a.units, 32);
      EXPECT_EQ(a.rows, 64);
      EXPECT_TRUE(near(a.mean, b.mean)) << a.op;
      EXPECT_TRUE(near(a.std, b.std)) << a.op;
      // Counts of units and entries: a value within rounding of a threshold may fall on either
      // side, so one entry or unit either way.
      if (a.op == "relu") {
        EXPECT_NEAR(a.dead_fraction, b.dead_fraction, 1.0 / 32);
      } else {
        EXPECT_NEAR(a.saturated_fraction, b.saturated_fraction, 1.0 / (64 * 32));
      }
    }
  }
  ASSERT_EQ(gpu.state.size(), plain.state.size());
  for (std::size_t k = 0; k < gpu.state.size(); ++k) {
    EXPECT_TRUE(bitwise_equal(gpu.state[k], plain.state[k])) << k;
  }
}

TEST(CudaTraining, TwoGpuRunsGiveBitwiseIdenticalWeights) {
  MYELIN_REQUIRE_GPU();
  // Adam on the model with fc1's bias: the most sensitive to any change of summation order.
  // On the emulated device the two runs also have different thread orders.
  std::vector<TrainingRun> runs;
  for (std::uint64_t seed : test::schedule_seeds()) {
    test::ScheduleSeed scope(seed);
    runs.push_back(train(Device::cuda(0), 10, OptimizerOptions::adam(1e-2), true));
  }
  ASSERT_EQ(runs[0].weights.size(), runs[1].weights.size());
  for (std::size_t k = 0; k < runs[0].weights.size(); ++k) {
    EXPECT_TRUE(bitwise_equal(runs[0].weights[k].second, runs[1].weights[k].second))
        << runs[0].weights[k].first;
  }
  EXPECT_EQ(runs[0].losses, runs[1].losses);
}

// The graph owns the weights on every device: after fit on the GPU it holds the trained ones.
TEST(CudaTraining, FitLeavesTheTrainedWeightsInTheGraph) {
  MYELIN_REQUIRE_GPU();
  const Dataset data = make_spirals(64, 2, 1.0, 0.05, 4);
  Graph g(3);
  const Value x = g.input("x", Shape{32, 2});
  const Value y = g.input("y", Shape{32}, DType::kInt64);
  const Value h = g.relu(g.batch_norm_layer(g.linear_layer(x, 16, {}, "fc1"), {}, "bn"));
  const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 2, {}, "fc2"), y);
  std::vector<Tensor> initial;
  for (Value p : g.parameters()) initial.push_back(g.tensor(p).clone());
  Optimizer optimizer(OptimizerOptions::adam(0.01));
  TrainOptions options;
  options.epochs = 1;
  options.executor.device = Device::cuda(0);
  Trainer trainer(g, loss, optimizer, options);
  trainer.fit({{x, data.x}, {y, data.y}});
  const std::vector<Value> params = g.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor trained = trainer.executor().param(params[i]).to(Device::cpu());
    EXPECT_TRUE(bitwise_equal(g.tensor(params[i]), trained)) << g.name(params[i]);
    EXPECT_FALSE(bitwise_equal(g.tensor(params[i]), initial[i])) << g.name(params[i]);
  }
  const Tensor count = g.tensor(g.find("bn.num_batches_tracked"));
  EXPECT_EQ(count.item(), 4.0);  // 128 rows in batches of 32

  // Evaluated on the device, as predicted on the device from the weights fit left in the graph.
  const Value logits = g.find("fc2");
  EvaluateOptions what;
  what.batch_size = 48;  // a partial last batch
  what.logits = logits;
  what.labels = y;
  const Evaluation evaluation = trainer.evaluate({{x, data.x}, {y, data.y}}, what);
  ExecutorOptions device;
  device.device = Device::cuda(0);
  const Tensor predicted = predict(g, logits, {{x, data.x}}, device, 48);
  EXPECT_TRUE(bitwise_equal(evaluation.predictions, predicted_classes(predicted)));
  EXPECT_TRUE(bitwise_equal(evaluation.labels, data.y));
  EXPECT_DOUBLE_EQ(evaluation.accuracy, accuracy(predicted, data.y));
}

}  // namespace
}  // namespace myelin
