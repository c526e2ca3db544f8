// What a training step costs the host, read from the emulated device's counters (which exist on
// the emulated device only): after the first step, a step of the default model makes no device
// allocation and at most one blocking wait, the one-step-late readback of its loss.
#include <gtest/gtest.h>

#include <iostream>

#include "myelin/app.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"

namespace myelin {
namespace {

TEST(CudaCounters, ATrainingStepOfTheDefaultModelAllocatesNothingAndWaitsAtMostOnce) {
  const std::int64_t batch = 32, rows = 8 * batch;
  ModelSpec spec = default_model_spec();
  spec.batch_size = batch;
  SequentialModel model = build_model(spec, 784, batch);
  TrainOptions options = train_options(spec, Device::cuda(0));
  options.epochs = 1;
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, options);
  std::vector<emu::Counters> at_step;
  trainer.on_step = [&](const StepInfo&) { at_step.push_back(emu::counters()); };
  trainer.fit({{model.input, test::random_tensor(Shape{rows, 784}, 1, -1, 1, DType::kFloat32)},
               {model.labels, test::random_labels(rows, 10, 2)}});
  ASSERT_EQ(at_step.size(), 8u);
  // Steps are reported one update late, from the second update on; the last ones when the epoch
  // ends. Between two reports in the middle of the epoch, exactly one step ran.
  for (std::size_t s = 2; s + 2 < at_step.size(); ++s) {
    const emu::Counters step = at_step[s] - at_step[s - 1];
    std::cout << "counters per training step of the default model (batch " << batch
              << "): launches " << step.launches << ", device allocations "
              << step.device_allocations << ", allocation calls " << step.allocation_calls
              << ", blocking waits " << step.blocking_waits << ", event queries "
              << step.event_queries << ", bytes to device " << step.bytes_host_to_device
              << ", to host " << step.bytes_device_to_host << "\n";
    EXPECT_EQ(step.device_allocations, 0u) << "step " << s;
    EXPECT_EQ(step.allocation_calls, 0u) << "step " << s;
    EXPECT_LE(step.blocking_waits, 1u) << "step " << s;
    EXPECT_GT(step.launches, 20u) << "step " << s;  // the step really ran on the device
  }
}

}  // namespace
}  // namespace myelin

#endif
