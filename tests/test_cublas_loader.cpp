// cuBLAS is loaded on first use in a build with a real CUDA toolkit: its routines are forwarded
// to the library opened then (backends/cuda/cublas_loader.cpp). Runs without a GPU: reading
// the library's version needs none.
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include "backends/cuda/cuda_runtime.hpp"

namespace myelin {
namespace {

TEST(CublasLoader, LoadsTheLibraryOnFirstUseAndForwardsToIt) {
  EXPECT_FALSE(cuda::cublas_loaded()) << "cuBLAS was loaded before anything used it";
  int major = -1, minor = -1;
  ASSERT_EQ(cublasGetProperty(MAJOR_VERSION, &major), CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(cublasGetProperty(MINOR_VERSION, &minor), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(major, CUBLAS_VER_MAJOR);
  EXPECT_GE(minor, 0);
  EXPECT_TRUE(cuda::cublas_loaded());
  EXPECT_STREQ(cublasGetStatusString(CUBLAS_STATUS_SUCCESS), "success");
}

}  // namespace
}  // namespace myelin
