// Training steps as CUDA Graphs: the same bits as kernel by kernel, across batch sizes (a
// shorter last batch gets its own graph), epochs and dropout; and a capture that the device
// would reject fails loudly instead of recording a wrong step.
#include <gtest/gtest.h>

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
