// The CUDA backend's runtime services. Every GPU test skips (counted as skipped by ctest) when
// no GPU is usable, as on CI machines that have the toolkit but no driver.
#include <gtest/gtest.h>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

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

}  // namespace
}  // namespace myelin
