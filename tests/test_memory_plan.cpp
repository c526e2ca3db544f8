// The executor's memory plan on the CPU: buffers that are alive together never share memory,
// the plan is smaller than one allocation per buffer, training gives the same bits with and
// without it, and a value whose memory was reused cannot be read.
#include <gtest/gtest.h>

#include <iostream>

#include "memory_plan_checks.hpp"

namespace myelin {
namespace {

MemoryPlanInfo default_model_plan(Device device, std::int64_t batch) {
  SequentialModel model = build_model(default_model_spec(), 784, batch);
  ExecutorOptions options;
  options.device = device;
  options.outputs = {model.loss};
  Executor e(model.graph, options);
  e.set_input(model.input, Tensor::zeros(Shape{batch, 784}));
  e.set_input(model.labels, Tensor::zeros(Shape{batch}, DType::kInt64));
  return e.memory_plan();
}

TEST(MemoryPlan, BuffersAliveTogetherNeverShareMemory) {
  const MemoryPlanInfo plan = default_model_plan(Device::cpu(), 128);
  const int sharing = test::expect_no_live_overlap(plan);
  std::cout << "default model, batch 128: " << plan.buffers.size() << " buffers, planned "
            << plan.arena_bytes << " bytes, one allocation each " << plan.naive_bytes << " bytes, "
            << sharing << " pairs sharing memory\n";
  EXPECT_GT(sharing, 0);
  // The largest buffers are activations and their gradients of [128, 512] floats (256 KiB);
  // without reuse there are more than a dozen of them, with it a handful.
  EXPECT_LT(plan.arena_bytes * 2, plan.naive_bytes);
  bool in_place = false;
  for (const MemoryPlanBuffer& b : plan.buffers) {
    in_place = in_place || b.name.find("(in place)") != std::string::npos;
  }
  EXPECT_TRUE(in_place) << "the ReLU backward should run in place";
}

TEST(MemoryPlan, EveryTrainingStepOfTheFanOutModelMatchesTheUnplannedBits) {
  const test::DefaultModelRun planned = test::train_fan_out(Device::cpu(), true);
  const test::DefaultModelRun unplanned = test::train_fan_out(Device::cpu(), false);
  test::expect_same_bits(planned, unplanned);
}

TEST(MemoryPlan, TrainingTheDefaultModelGivesTheSameBitsWithAndWithoutThePlan) {
  // 3 full batches and a short one, whose smaller buffers are placed again in the same arena.
  const test::DefaultModelRun planned = test::train_default_model(Device::cpu(), true, 32, 112);
  const test::DefaultModelRun unplanned = test::train_default_model(Device::cpu(), false, 32, 112);
  test::expect_same_bits(planned, unplanned);
}

TEST(MemoryPlan, AValueWhoseMemoryWasReusedCannotBeReadUnlessItIsAnOutput) {
  test::FanOutModel m;
  const Tensor x = test::random_tensor(Shape{64, 16}, 3, -1, 1, DType::kFloat32);
  const Tensor y = test::random_labels(64, 4, 4);
  ExecutorOptions options;
  options.outputs = {m.loss};
  Executor planned(m.graph, options);
  planned.set_input(m.x, x);
  planned.set_input(m.y, y);
  EXPECT_TRUE(bitwise_equal(planned.value(m.x), x));  // inputs can be read before any pass
  planned.forward();
  planned.backward(m.loss);
  // h's memory is taken by gradients once the backward pass is past its last reader.
  const std::string message = test::error_of([&] { planned.value(m.h); });
  EXPECT_NE(message.find("value 'h' is not kept"), std::string::npos) << message;
  EXPECT_NE(message.find("ExecutorOptions::outputs"), std::string::npos) << message;
  EXPECT_NE(test::error_of([&] {
              planned.backward(m.h, Tensor::zeros(Shape{64, 32}));
            }).find("not one of the executor's outputs"),
            std::string::npos);

  // Listed as an output, it is kept and equals the value of an executor without a plan.
  options.outputs = {m.loss, m.h, m.z};
  Executor keeping(m.graph, options);
  options.plan_memory = false;
  Executor unplanned(m.graph, options);
  for (Executor* e : {&keeping, &unplanned}) {
    e->set_input(m.x, x);
    e->set_input(m.y, y);
    e->forward();
    e->backward(m.loss);
  }
  EXPECT_TRUE(bitwise_equal(keeping.value(m.h), unplanned.value(m.h)));
  EXPECT_TRUE(bitwise_equal(keeping.value(m.z), unplanned.value(m.z)));
  EXPECT_FALSE(unplanned.memory_plan().planned);
}

TEST(MemoryPlan, WithoutRequestedOutputsEveryValueIsKept) {
  test::FanOutModel m;
  Executor e(m.graph);
  e.set_input(m.x, test::random_tensor(Shape{64, 16}, 3, -1, 1, DType::kFloat32));
  e.set_input(m.y, test::random_labels(64, 4, 4));
  e.forward();
  e.backward(m.loss);
  EXPECT_EQ(e.value(m.h).shape(), Shape({64, 32}));
  test::expect_no_live_overlap(e.memory_plan());
}

}  // namespace
}  // namespace myelin
