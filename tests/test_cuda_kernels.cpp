// Which kernels the CUDA backend really has. Every CUDA entry of the op table must name kernels
// that exist: in a real CUDA build, compiled into libmyelin.so (this toolkit has no cuobjdump,
// but nvcc emits a host stub, __device_stub__<mangled kernel name>, for every __global__
// function, and `nm` lists it); on the emulated device, launched (the emulator counts device
// work by name) when the op's cases run forward and backward. Built only with the CUDA backend.
#include <gtest/gtest.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "myelin/myelin.hpp"
#include "op_cases.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "backends/cuda/random.hpp"
#include "myelin_emu/emulator.hpp"
#endif

namespace myelin {
namespace {

// Kernels that belong to no op: the optimizer, the generator, and the scheduler's primitives.
const char* const kOtherKernels[] = {"multi_tensor_update_kernel",
                                     "chunk_squares_kernel",
                                     "norm_finish_kernel",
                                     "philox_uniform_kernel",
                                     "accumulate_kernel",
                                     "scale_kernel",
                                     "clamp_kernel"};

#if defined(MYELIN_EMULATED_DEVICE)

std::uint64_t count(const std::map<std::string, std::uint64_t>& work, const std::string& name) {
  const auto it = work.find(name);
  return it == work.end() ? 0 : it->second;
}

// Runs the op's device cases forward and backward.
void run_cases(const std::string& op) {
  for (const test::Case& c : test::op_cases(test::CaseSet::kBackend).at(op)) {
    Graph g(42);
    const test::Built b = c.build(g);
    ExecutorOptions options;
    options.device = Device::cuda(0);
    options.input_grads = b.wrt;
    options.outputs = {b.out};
    Executor e(g, options);
    for (const auto& [v, t] : b.feeds) {
      e.set_input(v, is_floating(t.dtype()) ? t.to(DType::kFloat32) : t);
    }
    e.forward(b.mode, 1);
    const Shape shape = g.shape(b.out);
    e.backward(b.out, Tensor::full(shape, 1.0, DType::kFloat32));
    e.synchronize();
  }
}

TEST(CudaKernels, EveryOpHasACudaImplementationWhoseKernelsRunOnTheDevice) {
  for (const OpDef* op : op_table()) {
    EXPECT_TRUE(op->impl(Backend::kCpu).available()) << op->name;
    ASSERT_TRUE(op->impl(Backend::kCuda).available()) << op->name << " has no CUDA implementation";
    EXPECT_FALSE(op->cuda_kernels.empty()) << op->name << " names no kernel";
    const auto before = emu::work_counts();
    run_cases(op->name);
    if (op->name == "linear") {  // and its fallback when cuBLASLt has no algorithm
      emu::set_cublaslt_algorithms(false);
      run_cases(op->name);
      emu::set_cublaslt_algorithms(true);
    }
    const auto after = emu::work_counts();
    std::cout << "cuda " << op->name << ":";
    for (std::string kernel : op->cuda_kernels) {
      std::cout << " " << kernel;
      if (kernel.rfind("library:", 0) == 0) kernel = kernel.substr(8);
      EXPECT_GT(count(after, kernel), count(before, kernel))
          << op->name << ": " << kernel << " never ran in the op's cases";
    }
    std::cout << "\n";
  }
  // The kernels that belong to no op: a training step with clipping by norm, fan-out gradient
  // accumulation, explicit clipping of device gradients, and a device draw.
  const auto before = emu::work_counts();
  Graph g(3);
  const Value x = g.input("x", Shape{8, 5});
  const Value target = g.input("t", Shape{8, 4});
  const Value h = g.linear_layer(x, 4, {}, "fc");
  const Value loss = g.mse_loss(g.add(h, h), target);
  ExecutorOptions options;
  options.device = Device::cuda(0);
  Executor e(g, options);
  e.set_input(x, test::random_tensor(Shape{8, 5}, 1, -1, 1, DType::kFloat32));
  e.set_input(target, test::random_tensor(Shape{8, 4}, 2, -1, 1, DType::kFloat32));
  e.forward();
  e.backward(loss);
  clip_grad_norm(e, 0.5);
  clip_grad_value(e, 0.01);
  Optimizer sgd(OptimizerOptions::sgd(0.1));
  sgd.step(e, GradientClipping{1.0, 0.0});
  e.synchronize();
  cuda::philox_uniform(Device::cuda(0), 10, 1, 2, 3);
  const auto after = emu::work_counts();
  for (const char* kernel : kOtherKernels) {
    EXPECT_GT(count(after, kernel), count(before, kernel)) << kernel << " never ran";
  }
}

#else  // a real CUDA build

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
  for (const char* kernel : kOtherKernels) EXPECT_TRUE(has_kernel(stubs, kernel)) << kernel;
}

#endif

}  // namespace
}  // namespace myelin
