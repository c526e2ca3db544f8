// The executor's memory plan on the device: the same placement as on the CPU, and training
// steps that give the same bits with and without it (on the emulated device, whose random
// thread order and lazy streams make a buffer reused too early show).
#include <gtest/gtest.h>

#include "memory_plan_checks.hpp"

namespace myelin {
namespace {

MemoryPlanInfo fan_out_plan(Device device) {
  test::FanOutModel m;
  ExecutorOptions options;
  options.device = device;
  options.outputs = {m.loss};
  Executor e(m.graph, options);
  e.set_input(m.x, Tensor::zeros(Shape{64, 16}));
  e.set_input(m.y, Tensor::zeros(Shape{64}, DType::kInt64));
  return e.memory_plan();
}

TEST(CudaMemoryPlan, IsTheCpuPlan) {
  MYELIN_REQUIRE_GPU();
  const MemoryPlanInfo cpu = fan_out_plan(Device::cpu());
  const MemoryPlanInfo gpu = fan_out_plan(Device::cuda(0));
  test::expect_no_live_overlap(gpu);
  EXPECT_EQ(cpu.arena_bytes, gpu.arena_bytes);
  ASSERT_EQ(cpu.buffers.size(), gpu.buffers.size());
  for (std::size_t b = 0; b < cpu.buffers.size(); ++b) {
    EXPECT_EQ(cpu.buffers[b].name, gpu.buffers[b].name);
    EXPECT_EQ(cpu.buffers[b].offset, gpu.buffers[b].offset) << cpu.buffers[b].name;
  }
}

TEST(CudaMemoryPlan, FanOutTrainingMatchesTheUnplannedBits) {
  MYELIN_REQUIRE_GPU();
  test::expect_same_bits(test::train_fan_out(Device::cuda(0), true),
                         test::train_fan_out(Device::cuda(0), false));
}

TEST(CudaMemoryPlan, DefaultModelTrainingMatchesTheUnplannedBits) {
  MYELIN_REQUIRE_GPU();
  // 3 full batches and a short one, placed again in the same arena.
  test::expect_same_bits(test::train_default_model(Device::cuda(0), true, 32, 112),
                         test::train_default_model(Device::cuda(0), false, 32, 112));
}

}  // namespace
}  // namespace myelin
