// What a training step costs the host, read from the emulated device's counters (which exist on
// the emulated device only): after the first steps, a step of the default model makes no device
// allocation and at most one blocking wait (the one-step-late readback of its loss); with CUDA
// Graphs it is one graph launch and two small kernels writing the step's scalars.
#include <gtest/gtest.h>

#include <iostream>

#include "myelin/app.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"

namespace myelin {
namespace {

// Counters between consecutive step reports in the middle of an epoch of 8 steps.
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
  std::vector<emu::Counters> at_step;
  trainer.on_step = [&](const StepInfo&) { at_step.push_back(emu::counters()); };
  trainer.fit({{model.input, test::random_tensor(Shape{rows, 784}, 1, -1, 1, DType::kFloat32)},
               {model.labels, test::random_labels(rows, 10, 2)}});
  EXPECT_EQ(at_step.size(), 8u);
  // Steps are reported one update late, from the second update on; the last ones when the epoch
  // ends. Between two reports in the middle of the epoch, exactly one step ran. With graphs the
  // first step runs kernel by kernel, and the next two are captured (one graph for each of the
  // step log's two buffers): steps 4.. replay.
  std::vector<emu::Counters> steps;
  for (std::size_t s = 4; s + 2 < at_step.size(); ++s) {
    const emu::Counters step = at_step[s] - at_step[s - 1];
    std::cout << "counters per training step of the default model (batch " << batch << ", "
              << (cuda_graphs ? "CUDA Graph" : "kernel by kernel") << "): host launches "
              << step.launches << ", graph launches " << step.graph_launches << " running "
              << step.graph_kernels << " kernels, device allocations " << step.device_allocations
              << ", allocation calls " << step.allocation_calls << ", blocking waits "
              << step.blocking_waits << ", event queries " << step.event_queries
              << ", bytes to device " << step.bytes_host_to_device << ", to host "
              << step.bytes_device_to_host << "\n";
    EXPECT_EQ(step.device_allocations, 0u) << "step " << s;
    EXPECT_EQ(step.allocation_calls, 0u) << "step " << s;
    EXPECT_LE(step.blocking_waits, 1u) << "step " << s;
    // The batch goes up and the loss, norm and error record come back.
    EXPECT_EQ(step.bytes_host_to_device, static_cast<std::uint64_t>(batch * (784 * 4 + 8)));
    EXPECT_GT(step.bytes_device_to_host, 0u);
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
