// Training steps as CUDA Graphs: the same bits as kernel by kernel, across batch sizes (a
// shorter last batch gets its own graph), epochs and dropout; the same bits when what the graphs
// point to is made anew (a second fit's step log, the optimizer's state); and a capture that the
// device would reject fails loudly instead of recording a wrong step.
#include <gtest/gtest.h>

#include <functional>

#include "memory_plan_checks.hpp"

namespace myelin {
namespace {

TEST(CudaGraphs, TrainingGivesTheSameBitsWithAndWithoutGraphs) {
  MYELIN_REQUIRE_GPU();
  // 3 full batches and a short one, over 3 epochs: each batch size is placed, captured (once per
  // step-log buffer) and replayed; the default model has batch norm and dropout, whose step
  // counter is written on the device before each launch.
  const test::DefaultModelRun graphs =
      test::train_default_model(Device::cuda(0), true, 32, 112, /*cuda_graphs=*/true, 3);
  const test::DefaultModelRun eager =
      test::train_default_model(Device::cuda(0), true, 32, 112, /*cuda_graphs=*/false, 3);
  ASSERT_EQ(graphs.losses.size(), 12u);
  test::expect_same_bits(graphs, eager);
}

// The default model on 128 random rows in batches of 32 for two epochs, with CUDA Graphs (steps
// 2 and 3 are captured, the others replay). `at_report` runs at each step's report (one update
// late on the device) and may stop the fit; the trainer is then fit again until it has trained
// the two epochs.
test::DefaultModelRun train_interrupted(
    const std::function<void(Trainer&, Optimizer&, const StepInfo&)>& at_report) {
  const std::int64_t batch = 32, rows = 128;
  ModelSpec spec = default_model_spec();
  spec.batch_size = batch;
  SequentialModel model = build_model(spec, 784, batch);
  TrainOptions options = train_options(spec, Device::cuda(0));
  options.epochs = 2;
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, options);
  test::DefaultModelRun run;
  trainer.on_step = [&](const StepInfo& info) {
    run.losses.push_back(info.loss);
    at_report(trainer, optimizer, info);
  };
  const std::vector<std::pair<Value, Tensor>> data{
      {model.input, test::random_tensor(Shape{rows, 784}, 1, -1, 1, DType::kFloat32)},
      {model.labels, test::random_labels(rows, 10, 2)}};
  for (int fits = 0; trainer.position().epoch < options.epochs; ++fits) {
    EXPECT_LT(fits, 4) << "the run does not end";
    if (fits == 4) break;
    trainer.fit(data);
  }
  for (const auto& [name, v] : model.state) run.weights.emplace_back(name, model.graph.tensor(v));
  return run;
}

// A fit stopped after update 5 (graphs captured and replayed by then) and fit again on the same
// trainer: the second fit reads losses back through a step log of its own, so graphs that copy
// into the first one's buffers (freed when the first fit returned) must not be replayed.
TEST(CudaGraphs, ASecondFitOnTheSameTrainerEqualsAnUninterruptedRun) {
  MYELIN_REQUIRE_GPU();
  const test::DefaultModelRun whole =
      train_interrupted([](Trainer&, Optimizer&, const StepInfo&) {});
  ASSERT_EQ(whole.losses.size(), 8u);
  int stops = 0;
  const test::DefaultModelRun parts =
      train_interrupted([&](Trainer& trainer, Optimizer&, const StepInfo& info) {
        if (info.step == 5 && stops++ == 0) trainer.request_stop();
      });
  EXPECT_EQ(stops, 1);
  test::expect_same_bits(parts, whole);
}

// The optimizer's state loaded again in the middle of a run (as a user restoring it would): its
// tensors are new, so the fused update's device tables are rebuilt, and graphs holding the old
// tables must not be replayed.
TEST(CudaGraphs, TheOptimizerStateMadeAnewMidRunGivesTheSameBits) {
  MYELIN_REQUIRE_GPU();
  const test::DefaultModelRun whole =
      train_interrupted([](Trainer&, Optimizer&, const StepInfo&) {});
  int reloads = 0;
  const test::DefaultModelRun reloaded =
      train_interrupted([&](Trainer&, Optimizer& optimizer, const StepInfo& info) {
        if (info.step == 5) {
          optimizer.load_state_dict(optimizer.state_dict());
          ++reloads;
        }
      });
  EXPECT_EQ(reloads, 1);
  test::expect_same_bits(reloaded, whole);
}

TEST(CudaGraphs, GradientAccumulationRunsKernelByKernelWithTheSameResults) {
  MYELIN_REQUIRE_GPU();
  auto run = [](bool cuda_graphs) {
    ModelSpec spec = default_model_spec();
    spec.batch_size = 16;
    SequentialModel model = build_model(spec, 784, 16);
    TrainOptions options = train_options(spec, Device::cuda(0));
    options.epochs = 1;
    options.accumulation_steps = 2;
    options.cuda_graphs = cuda_graphs;
    Optimizer optimizer(spec.optimizer);
    Trainer trainer(model.graph, model.loss, optimizer, options);
    std::vector<double> losses;
    trainer.on_step = [&](const StepInfo& info) { losses.push_back(info.loss); };
    trainer.fit({{model.input, test::random_tensor(Shape{64, 784}, 1, -1, 1, DType::kFloat32)},
                 {model.labels, test::random_labels(64, 10, 2)}});
    return losses;
  };
  EXPECT_EQ(run(true), run(false));
}

}  // namespace
}  // namespace myelin
