// The CUDA backend's runtime services. On the emulated
// device these run everywhere; in a real-CUDA build without a usable GPU they skip (counted as
// skipped by ctest).
#include <gtest/gtest.h>

#include <cmath>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include <cuda_runtime_api.h>

#include "myelin_emu/emulator.hpp"
#endif

namespace myelin {
namespace {

TEST(CudaRuntime, ReportsWhetherAGpuIsUsable) {
  std::string why;
  const int count = cuda_device_count(&why);
  EXPECT_GE(count, 0);
  EXPECT_EQ(cuda_available(), count > 0);
  if (count == 0) {
    EXPECT_FALSE(why.empty());
  }
}

TEST(CudaGpu, TensorsRoundTripThroughDeviceMemory) {
  MYELIN_REQUIRE_GPU();
  const Tensor host = test::random_tensor(Shape{3, 1000}, 1, -1, 1, DType::kFloat32);
  const Tensor device = host.to(Device::cuda(0));
  EXPECT_TRUE(device.device().is_cuda());
  EXPECT_TRUE(bitwise_equal(device.to(Device::cpu()), host));
  EXPECT_TRUE(bitwise_equal(device.clone(), host));
}

TEST(CudaGpu, ANonexistentDeviceIsAClearError) {
  MYELIN_REQUIRE_GPU();
  const std::string m =
      test::error_of([] { Tensor::zeros(Shape{2}, DType::kFloat32, Device::cuda(999)); });
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
}

// An executor on the second device while the first is current (the default): its kernels and
// GEMMs must run on its own device.
TEST(CudaMultiDevice, AnExecutorOnTheSecondDeviceMatchesTheCpu) {
  MYELIN_REQUIRE_GPU();
  if (cuda_device_count() < 2) GTEST_SKIP() << "needs two GPUs";
  std::vector<std::vector<Tensor>> results;
  for (Device device : {Device::cpu(), Device::cuda(1)}) {
    Graph g(7);
    const Value x = g.input("x", Shape{32, 10});
    const Value y = g.input("y", Shape{32}, DType::kInt64);
    const Value h = g.relu(
        g.batch_norm_layer(g.linear_layer(x, 16, LinearOptions{false, {}, {}}, "fc1"), {}, "bn"));
    const Value loss = g.softmax_cross_entropy(g.linear_layer(h, 3, {}, "fc2"), y);
    ExecutorOptions options;
    options.device = device;
    Executor e(g, options);
    e.set_input(x, test::random_tensor(Shape{32, 10}, 3, -1, 1, DType::kFloat32));
    e.set_input(y, test::random_labels(32, 3, 4));
    Optimizer sgd(OptimizerOptions::momentum_sgd(0.1, 0.9));
    for (int step = 0; step < 2; ++step) {
      e.forward(Mode::kTrain, static_cast<std::uint64_t>(step));
      e.backward(loss);
      sgd.step(e, GradientClipping{1.0, 0.0});
    }
    e.forward(Mode::kEval);
    std::vector<Tensor> out{e.value(loss).to(Device::cpu())};
    for (Value p : g.parameters()) out.push_back(e.param(p).to(Device::cpu()));
    results.push_back(out);
  }
  for (std::size_t k = 0; k < results[0].size(); ++k) {
    const std::vector<double> a = results[0][k].to_vector<double>();
    const std::vector<double> b = results[1][k].to_vector<double>();
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_NEAR(b[i], a[i], 1e-5 * std::max(1.0, std::abs(a[i]))) << "tensor " << k;
    }
  }
}

#if defined(MYELIN_EMULATED_DEVICE)
// Counting correct rows needs temporary device memory; without it the count fails with
// myelin::Error, as every other device failure does.
TEST(CudaMetrics, AccuracyOnADeviceOutOfMemoryIsAClearError) {
  const Tensor logits =
      test::random_tensor(Shape{100, 10}, 1, -1, 1, DType::kFloat32).to(Device::cuda(0));
  const Tensor labels = test::random_labels(100, 10, 2).to(Device::cuda(0));
  const double expected = accuracy(logits.to(Device::cpu()), labels.to(Device::cpu()));
  EXPECT_EQ(accuracy(logits, labels), expected);
  // No memory left: the pool gives back what it holds, and the device is capped.
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  cudaMemPool_t pool = nullptr;
  ASSERT_EQ(cudaDeviceGetDefaultMemPool(&pool, 0), cudaSuccess);
  ASSERT_EQ(cudaMemPoolTrimTo(pool, 0), cudaSuccess);
  emu::set_memory_limit(0, 1);
  const std::string message = test::error_of([&] { accuracy(logits, labels); });
  emu::set_memory_limit(0, 0);
  EXPECT_NE(message.find("out of memory"), std::string::npos) << message;
}
#endif

}  // namespace
}  // namespace myelin
