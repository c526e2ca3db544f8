// The device's Philox generator against the host's (an internal function of the CUDA backend:
// built only with it).
#include <gtest/gtest.h>

#include "backends/cuda/random.hpp"
#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

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

}  // namespace
}  // namespace myelin
