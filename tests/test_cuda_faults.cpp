// What a real device can do to a run, made to happen on demand by the emulated device: a kernel
// launch that fails (every kernel and library routine each op launches, the first and the last
// time it does), a kernel that fails while it runs, every allocation failing in turn, a driver
// older than the runtime. Each must reach the user as a myelin::Error that names the node or the
// call, never as silently wrong numbers, a crash or a hang; after an error that leaves the device
// usable (a failed allocation) the next run works. Emulated device only: its controls make the
// faults.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <string>

#include "myelin/app.hpp"
#include "op_cases.hpp"
#include "test_util.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"

namespace myelin {
namespace {

// Runs an op's first device case forward and backward on cuda:0 and reads its output.
void run_case(const std::string& op) {
  const test::Case& c = test::op_cases(test::CaseSet::kBackend).at(op).front();
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
  e.backward(b.out, Tensor::full(g.shape(b.out), 1.0, DType::kFloat32));
  e.value(b.out).to(Device::cpu());
  e.synchronize();
}

// Kernels and library routines an op's case launches, with how often.
std::map<std::string, std::uint64_t> launched_by(const std::string& op) {
  const auto before = emu::work_counts();
  run_case(op);
  std::map<std::string, std::uint64_t> launched;
  for (const auto& [name, count] : emu::work_counts()) {
    if (name.rfind("cudaMemcpy", 0) == 0 || name == "cudaGraphLaunch") continue;  // not launches
    const auto it = before.find(name);
    const std::uint64_t was = it == before.end() ? 0 : it->second;
    if (count > was) launched[name] = count - was;
  }
  return launched;
}

TEST(CudaFaults, EveryFailedLaunchOfEveryOpIsAnErrorNamingItsNode) {
  for (const OpDef* op : op_table()) {
    const auto launched = launched_by(op->name);
    ASSERT_FALSE(launched.empty()) << op->name;
    for (const auto& [kernel, count] : launched) {
      // The first launch, and the last one (composite launchers launch the same kernel twice).
      for (const std::uint64_t nth : {std::uint64_t{1}, count}) {
        emu::fail_launch(kernel, nth);
        const std::string message = test::error_of([&] { run_case(op->name); });
        emu::clear_faults();
        SCOPED_TRACE(op->name + ": launch " + std::to_string(nth) + " of " + kernel);
        EXPECT_FALSE(message.empty()) << "the failed launch went unreported";
        if (kernel == "write_u64_kernel") {  // the forward pass's dropout step: no node's
          EXPECT_NE(message.find("kernel launch kernels::launch_write_u64"), std::string::npos)
              << message;
        } else {
          EXPECT_NE(message.find("node '"), std::string::npos) << message;
          EXPECT_NE(message.find("(" + op->name + ")"), std::string::npos) << message;
        }
        if (nth == count) break;
      }
    }
  }
}

TEST(CudaFaults, AKernelFailingWhileItRunsIsReportedAtTheNextWait) {
  emu::fail_launch("normalize_kernel", 1, /*while_running=*/true);
  const std::string message = test::error_of([] { run_case("batch_norm"); });
  emu::clear_faults();
  EXPECT_NE(message.find("cudaErrorLaunchFailure"), std::string::npos) << message;
  EXPECT_NE(message.find("MYELIN_EMU_SEED="), std::string::npos) << message;
}

// A few steps of the default model (batch norm, dropout, Adam, CUDA Graphs) on 20 features.
void train_briefly() {
  ModelSpec spec = default_model_spec();
  spec.batch_size = 16;
  SequentialModel model = build_model(spec, 20, 16);
  TrainOptions options = train_options(spec, Device::cuda(0));
  options.epochs = 1;
  Optimizer optimizer(spec.optimizer);
  Trainer trainer(model.graph, model.loss, optimizer, options);
  trainer.fit({{model.input, test::random_tensor(Shape{80, 20}, 1, -1, 1, DType::kFloat32)},
               {model.labels, test::random_labels(80, 10, 2)}});
}

TEST(CudaFaults, EveryAllocationFailingInTurnIsAnError) {
  train_briefly();  // what is made once per process (the library's streams) is made now
  int failed = 0;
  for (std::uint64_t nth = 1;; ++nth) {
    ASSERT_LT(nth, 500u) << "runaway";
    emu::fail_allocation(nth);
    const std::string message = test::error_of(train_briefly);
    const bool fired = emu::pending_faults() == 0;
    emu::clear_faults();
    if (!fired) {
      EXPECT_EQ(message, "") << "allocation " << nth << " did not fail, yet the run did";
      break;
    }
    ++failed;
    SCOPED_TRACE("allocation " + std::to_string(nth));
    EXPECT_FALSE(message.empty()) << "a failed allocation went unreported";
    const bool named = message.find("out of memory") != std::string::npos ||
                       message.find("cudaErrorMemoryAllocation") != std::string::npos;
    EXPECT_TRUE(named) << message;
  }
  std::cout << "allocation calls of a brief training run, each made to fail: " << failed << "\n";
  EXPECT_GT(failed, 10);
  EXPECT_EQ(test::error_of(train_briefly), "") << "the device works again afterwards";
}

TEST(CudaFaults, ADriverOlderThanTheRuntimeIsNamedAndTheCpuStillTrains) {
  emu::set_driver_version(12040);
  std::string why;
  EXPECT_EQ(cuda_device_count(&why), 0);
  EXPECT_FALSE(cuda_available());
  EXPECT_NE(why.find("cudaErrorInsufficientDriver"), std::string::npos) << why;
  EXPECT_NE(why.find("the driver supports CUDA 12.4"), std::string::npos) << why;
  EXPECT_NE(why.find("runtime 13.0"), std::string::npos) << why;
  const std::string message = test::error_of([] {
    Graph g;
    const Value x = g.input("x", Shape{2, 3});
    g.relu(x);
    ExecutorOptions options;
    options.device = Device::cuda(0);
    Executor e(g, options);
  });
  EXPECT_NE(message.find("the driver supports CUDA 12.4"), std::string::npos) << message;
  emu::clear_faults();
  EXPECT_TRUE(cuda_available());
}

}  // namespace
}  // namespace myelin

#endif
