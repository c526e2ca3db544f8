#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>

#include "myelin/myelin.hpp"
#include "test_util.hpp"

namespace myelin {
namespace {

using test::error_of;

TEST(Shape, RankNumelAndText) {
  EXPECT_EQ(Shape{}.rank(), 0);
  EXPECT_EQ(Shape{}.numel(), 1);
  const Shape s{2, 3, 4, 5};
  EXPECT_EQ(s.rank(), 4);
  EXPECT_EQ(s.numel(), 120);
  EXPECT_EQ(s.dim(-1), 5);
  EXPECT_EQ(s.str(), "[2, 3, 4, 5]");
  EXPECT_EQ(Shape({0, 3}).numel(), 0);
}

TEST(Shape, RejectsBadShapes) {
  EXPECT_NE(error_of([] { Shape({1, 2, 3, 4, 5}); }).find("rank 5"), std::string::npos);
  EXPECT_NE(error_of([] { Shape({2, -1}); }).find("negative"), std::string::npos);
  EXPECT_NE(error_of([] { Shape{2, 3}.dim(2); }).find("out of range"), std::string::npos);
}

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::kFloat32), 4u);
  EXPECT_EQ(dtype_size(DType::kFloat64), 8u);
  EXPECT_EQ(dtype_size(DType::kInt32), 4u);
  EXPECT_EQ(dtype_size(DType::kInt64), 8u);
  EXPECT_EQ(dtype_size(DType::kUInt8), 1u);
  EXPECT_STREQ(dtype_name(DType::kUInt8), "uint8");
  EXPECT_TRUE(is_floating(DType::kFloat64));
  EXPECT_FALSE(is_floating(DType::kInt64));
}

TEST(Tensor, HostMemoryIsAlignedFor64Bytes) {
  for (std::int64_t n : {1, 3, 17, 1000}) {
    for (DType t :
         {DType::kFloat32, DType::kFloat64, DType::kInt32, DType::kInt64, DType::kUInt8}) {
      Tensor x = Tensor::empty(Shape{n}, t);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.raw()) % kHostAlignment, 0u);
    }
  }
}

TEST(Tensor, ValuesConvertBetweenTypes) {
  const Tensor a = Tensor::from_vector<float>(Shape{2, 2}, {1.5f, -2.0f, 3.25f, 0.0f});
  EXPECT_EQ(a.dtype(), DType::kFloat32);
  EXPECT_EQ(a.to(DType::kFloat64).to_vector<double>(), (std::vector<double>{1.5, -2.0, 3.25, 0.0}));
  EXPECT_EQ(a.to(DType::kInt64).to_vector<std::int64_t>(),
            (std::vector<std::int64_t>{1, -2, 3, 0}));
  EXPECT_DOUBLE_EQ(Tensor::scalar<double>(4.5).item(), 4.5);
  EXPECT_NE(error_of([&] { a.item(); }).find("one-element"), std::string::npos);
  EXPECT_NE(error_of([] { Tensor::from_vector<float>(Shape{3}, {1.0f}); }).find("needs 3 values"),
            std::string::npos);
}

TEST(Tensor, TypedAccessChecksTheType) {
  Tensor a = Tensor::zeros(Shape{3}, DType::kInt32);
  EXPECT_NE(error_of([&] { a.data<float>(); }).find("holds int32, not float32"), std::string::npos);
  EXPECT_NE(error_of([] { Tensor().raw(); }).find("undefined"), std::string::npos);
}

TEST(Tensor, CopiesShareStorageAndClonesDoNot) {
  Tensor a = Tensor::full(Shape{4}, 1.0);
  Tensor view = a.reshaped(Shape{2, 2});
  Tensor deep = a.clone();
  a.data<float>()[0] = 7.0f;
  EXPECT_TRUE(view.shares_storage(a));
  EXPECT_EQ(view.data<float>()[0], 7.0f);
  EXPECT_EQ(deep.data<float>()[0], 1.0f);
  EXPECT_NE(error_of([&] { a.reshaped(Shape{3}); }).find("cannot reshape"), std::string::npos);
}

TEST(Tensor, CopyFromConvertsAndChecksShapes) {
  Tensor dst = Tensor::zeros(Shape{3}, DType::kFloat64);
  dst.copy_from(Tensor::from_vector<float>(Shape{3}, {1.0f, 2.0f, 3.0f}));
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_NE(error_of([&] { dst.copy_from(Tensor::zeros(Shape{4})); }).find("shapes differ"),
            std::string::npos);
  EXPECT_TRUE(bitwise_equal(dst, dst.clone()));
  EXPECT_FALSE(bitwise_equal(dst, dst.to(DType::kFloat32)));
}

TEST(Device, ParsesNames) {
  EXPECT_EQ(parse_device("cpu"), Device::cpu());
  EXPECT_EQ(parse_device("cuda"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_NE(error_of([] { parse_device("gpu"); }).find("bad device 'gpu'"), std::string::npos);
}

TEST(Device, AskingForAGpuWithoutOneIsAClearError) {
  std::string why;
  if (cuda_available()) {  // the other side of the same report
    EXPECT_GT(cuda_device_count(&why), 0);
    return;
  }
  EXPECT_EQ(cuda_device_count(&why), 0);
  EXPECT_FALSE(why.empty());
  const std::string message =
      error_of([] { Tensor::zeros(Shape{4}, DType::kFloat32, Device::cuda(0)); });
  EXPECT_TRUE(message.find("no usable CUDA device") != std::string::npos ||
              message.find("built without the CUDA backend") != std::string::npos)
      << message;
}

TEST(BuildInfo, ReportsVersionAndOpenMPBlas) {
  const BuildInfo info = build_info();
  EXPECT_EQ(info.version, MYELIN_EXPECTED_VERSION);
  // The OpenMP build of OpenBLAS, so that GEMMs share our thread pool.
  EXPECT_NE(info.blas.find("OpenMP"), std::string::npos) << info.blas;
#if MYELIN_EXPECTED_CUDA  // what the build was configured with
  EXPECT_TRUE(info.cuda);
  EXPECT_GE(info.cuda_runtime, 13000);
#else
  EXPECT_FALSE(info.cuda);
#endif
}

// A CUDA build used on the CPU must not pay for the CUDA libraries: cuBLAS and cuBLASLt are
// loaded when a CUDA device is first used, and the runtime is linked statically.
TEST(BuildInfo, TrainingOnTheCpuLoadsNoCudaLibrary) {
  const BuildInfo info = build_info();
  if (!info.cuda || info.emulated) {
    GTEST_SKIP() << "no real CUDA libraries in this build";
  }
  Graph g(3);
  const Value x = g.input("x", Shape{16, 4});
  const Value y = g.input("y", Shape{16}, DType::kInt64);
  const Value loss = g.softmax_cross_entropy(g.linear_layer(g.relu(g.linear_layer(x, 8)), 3), y);
  Optimizer optimizer(OptimizerOptions::adam());
  TrainOptions options;
  options.batch_size = 8;
  Trainer trainer(g, loss, optimizer, options);
  trainer.fit({{x, Tensor::zeros(Shape{16, 4})}, {y, Tensor::zeros(Shape{16}, DType::kInt64)}});
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    for (const char* library : {"libcublas", "libcudart.so", "libcudnn"}) {
      EXPECT_EQ(line.find(library), std::string::npos) << "mapped: " << line;
    }
  }
}

}  // namespace
}  // namespace myelin
