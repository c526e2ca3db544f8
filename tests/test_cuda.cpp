// The CUDA backend's runtime services and the device's Philox generator. On the emulated
// device these run everywhere; in a real-CUDA build without a usable GPU they skip (counted as
// skipped by ctest).
#include <gtest/gtest.h>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/random.hpp"
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

#if defined(MYELIN_WITH_CUDA)
TEST(PhiloxGpu, DeviceDrawsEqualHostDrawsBitForBit) {
  MYELIN_REQUIRE_GPU();
  const std::int64_t n = 100003;  // not a multiple of 4 or of a block
  const std::vector<float> device =
      cuda::philox_uniform(Device::cuda(0), n, 99, 12, 3).to_vector<float>();
  Rng rng(99, 12, 3);
  for (std::int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(device[static_cast<std::size_t>(i)], rng.uniform_float()) << "element " << i;
  }
}
#endif

}  // namespace
}  // namespace myelin
