// Which kernels are compiled into libmyelin.so. This toolkit has no cuobjdump, but nvcc emits a
// host stub, __device_stub__<mangled kernel name>, for every __global__ function, and `nm`
// lists it. Every CUDA entry of the op table must name kernels that are really there.
#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <set>
#include <string>

#include "myelin/myelin.hpp"

namespace myelin {
namespace {

#if defined(MYELIN_WITH_CUDA)
std::vector<std::string> device_stubs() {
  const std::string command = std::string("nm ") + MYELIN_LIBRARY_PATH + " 2>&1";
  std::vector<std::string> stubs;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return stubs;
  char line[4096];
  while (std::fgets(line, sizeof line, pipe) != nullptr) {
    const std::string text(line);
    const std::size_t at = text.find("__device_stub__");
    if (at != std::string::npos) stubs.push_back(text.substr(at));
  }
  pclose(pipe);
  return stubs;
}

// A mangled name spells an identifier as <length><identifier>.
bool has_kernel(const std::vector<std::string>& stubs, const std::string& kernel) {
  const std::string mangled = std::to_string(kernel.size()) + kernel;
  for (const std::string& s : stubs) {
    if (s.find(mangled) != std::string::npos) return true;
  }
  return false;
}

TEST(CudaKernels, EveryOpHasACudaImplementationWhoseKernelsAreInTheLibrary) {
  const std::vector<std::string> stubs = device_stubs();
  ASSERT_FALSE(stubs.empty()) << "no __device_stub__ symbol found by nm in " << MYELIN_LIBRARY_PATH;
  for (const OpDef* op : op_table()) {
    EXPECT_TRUE(op->impl(Backend::kCpu).available()) << op->name;
    EXPECT_TRUE(op->impl(Backend::kCuda).available()) << op->name << " has no CUDA implementation";
    EXPECT_FALSE(op->cuda_kernels.empty()) << op->name << " names no kernel";
    std::cout << "cuda " << op->name << ":";
    for (const std::string& kernel : op->cuda_kernels) {
      std::cout << " " << kernel;
      if (kernel.rfind("library:", 0) == 0) continue;
      EXPECT_TRUE(has_kernel(stubs, kernel))
          << op->name << ": kernel " << kernel << " is not compiled into libmyelin.so";
    }
    std::cout << "\n";
  }
  // The optimizer and the generator are not ops but are kernels too.
  for (const char* kernel :
       {"multi_tensor_update_kernel", "chunk_squares_kernel", "norm_finish_kernel",
        "philox_uniform_kernel", "accumulate_kernel", "scale_kernel", "clamp_kernel"}) {
    EXPECT_TRUE(has_kernel(stubs, kernel)) << kernel;
  }
}
#else
TEST(CudaKernels, EveryOpHasACudaImplementationWhoseKernelsAreInTheLibrary) {
  GTEST_SKIP() << "myelin was built without the CUDA backend";
}
#endif

}  // namespace
}  // namespace myelin
