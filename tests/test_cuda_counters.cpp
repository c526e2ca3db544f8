// What a training step costs the host, read from the emulated device's counters (which exist on
// the emulated device only) between the starts of consecutive steps: after the first steps, a
// step of the default model makes no device allocation, at most one blocking wait (the
// one-step-late readback of its loss), two uploads and three small readbacks; with CUDA Graphs it
// is one graph launch and two small kernels writing the step's scalars.
#include <gtest/gtest.h>

#include <iostream>

#include "myelin/app.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"

namespace myelin {
namespace {

// The rows of a TensorSource, and the counters at the start of each step: the trainer binds one
// batch per step, first thing, whatever the device has finished by then.
class CountingSource : public BatchSource {
 public:
  CountingSource(const Graph& graph, std::vector<std::pair<Value, Tensor>> data)
      : inner_(graph, std::move(data)) {}
  std::int64_t rows() const override { return inner_.rows(); }
  void bind(Executor& executor, const std::int64_t* indices, std::int64_t count) override {
    at_bind.push_back(emu::counters());
    inner_.bind(executor, indices, count);
  }
  std::vector<emu::Counters> at_bind;

 private:
  TensorSource inner_;
};

// Counters of steps in the middle of an epoch of 8 steps: from the start of a step to the start
// of the next.
std::vector<emu::Counters> per_step(bool cuda_graphs) {
  const std::int64_t batch = 32, rows = 8 * batch;
  ModelSpec spec = default_model_spec();
  spec.batch_size = batch;
  SequentialModel model = build_model(spec, 784, batch);
  TrainOptions options = train_options(spec, Device::cuda(0));
  options.epochs = 1;
  options.cuda_graphs = cuda_graphs;
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, options);
  CountingSource source(
      model.graph, {{model.input, test::random_tensor(Shape{rows, 784}, 1, -1, 1, DType::kFloat32)},
                    {model.labels, test::random_labels(rows, 10, 2)}});
  trainer.fit(source);
  EXPECT_EQ(source.at_bind.size(), 8u);
  // With graphs the first step runs kernel by kernel, and the next two are captured (one graph
  // for each of the step log's two buffers): steps 4.. replay.
  std::vector<emu::Counters> steps;
  for (std::size_t s = 4; s + 1 < source.at_bind.size(); ++s) {
    const emu::Counters step = source.at_bind[s + 1] - source.at_bind[s];
    std::cout << "counters per training step of the default model (batch " << batch << ", "
              << (cuda_graphs ? "CUDA Graph" : "kernel by kernel") << "): host launches "
              << step.launches << ", graph launches " << step.graph_launches << " running "
              << step.graph_kernels << " kernels, device allocations " << step.device_allocations
              << ", allocation calls " << step.allocation_calls << ", blocking waits "
              << step.blocking_waits << ", event queries " << step.event_queries << " ("
              << step.not_ready << " not ready), copies to the device " << step.copies_to_device
              << " (" << step.bytes_host_to_device << " bytes), to the host " << step.copies_to_host
              << " (" << step.bytes_device_to_host << " bytes)\n";
    EXPECT_EQ(step.device_allocations, 0u) << "step " << s;
    EXPECT_EQ(step.allocation_calls, 0u) << "step " << s;
    // The one-step-late readback waits only when two updates are still on their way.
    EXPECT_LE(step.blocking_waits, 1u) << "step " << s;
    // The batch goes up (images and labels, one copy each) and the loss, norm and error record
    // come back.
    EXPECT_EQ(step.bytes_host_to_device, static_cast<std::uint64_t>(batch * (784 * 4 + 8)));
    EXPECT_EQ(step.copies_to_device, 2u);
    EXPECT_EQ(step.copies_to_host, 3u);
    steps.push_back(step);
  }
  return steps;
}

TEST(CudaCounters, AStepKernelByKernelAllocatesNothingAndWaitsAtMostOnce) {
  for (const emu::Counters& step : per_step(false)) {
    EXPECT_GT(step.launches, 20u);  // the step really ran on the device
    EXPECT_EQ(step.graph_launches, 0u);
  }
}

TEST(CudaCounters, AStepAsACudaGraphIsOneGraphLaunchAndTwoKernels) {
  const std::vector<emu::Counters> eager = per_step(false);
  for (const emu::Counters& step : per_step(true)) {
    EXPECT_EQ(step.graph_launches, 1u);
    // The dropout step and the update's constants, written before the launch.
    EXPECT_EQ(step.launches, 2u);
    // The graph runs what the host launched kernel by kernel, less those two.
    EXPECT_EQ(step.graph_kernels + step.launches, eager.front().launches);
  }
}

}  // namespace
}  // namespace myelin

#endif
