// myelin info: the build, the usable devices and the op table with its implementations.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "myelin/app.hpp"

namespace myelin::cli {

namespace {

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// What one training step of the default model keeps in memory besides its weights: the
// executor's arena, planned by liveness, against one allocation per buffer.
void print_memory_plan() {
  const ModelSpec spec = default_model_spec();
  SequentialModel model = build_model(spec, 784, spec.batch_size);
  ExecutorOptions options;
  options.outputs = {model.loss};
  Executor executor(model.graph, options);
  executor.set_input(model.input, Tensor::zeros(Shape{spec.batch_size, 784}));
  executor.set_input(model.labels, Tensor::zeros(Shape{spec.batch_size}, DType::kInt64));
  const MemoryPlanInfo plan = executor.memory_plan();
  std::cout << "memory plan of a training step of the default model (batch " << spec.batch_size
            << "): " << plan.buffers.size() << " activations, saved tensors and gradients in "
            << std::fixed << std::setprecision(2) << mib(plan.arena_bytes)
            << " MiB (planned by liveness), " << mib(plan.naive_bytes)
            << " MiB with one allocation each (" << std::setprecision(1)
            << static_cast<double>(plan.naive_bytes) / static_cast<double>(plan.arena_bytes)
            << "x)\n";
  std::cout.unsetf(std::ios::floatfield);
  std::cout << std::setprecision(6);
}

}  // namespace

int run_info(const Args& args) {
  check_options(args, {});
  const BuildInfo b = build_info();
  std::cout << "myelin " << b.version << "\n"
            << "  compiler: " << b.compiler << "\n"
            << "  BLAS:     " << b.blas << "\n";
  if (b.cuda && b.emulated) {
    std::cout << "  CUDA:     backend built for the emulated device (kernels run on the CPU, "
                 "for testing; no speed), cuBLAS emulated\n";
  } else if (b.cuda) {
    std::cout << "  CUDA:     backend built, runtime " << b.cuda_runtime / 1000 << "."
              << (b.cuda_runtime % 1000) / 10 << ", cuBLAS " << b.cublas << ", cuDNN "
              << (b.cudnn.empty() ? std::string("not found") : b.cudnn + " (benchmark baseline)")
              << "\n";
  } else {
    std::cout << "  CUDA:     not built (CPU-only library)\n";
  }
  if (b.cuda) {
    std::cout << "  driver:   ";
    if (b.cuda_driver == 0) {
      std::cout << "none (no NVIDIA driver is installed)\n";
    } else {
      std::cout << "supports CUDA " << b.cuda_driver / 1000 << "." << (b.cuda_driver % 1000) / 10;
      if (b.cuda_driver < b.cuda_runtime) {
        std::cout << ", older than the runtime " << b.cuda_runtime / 1000 << "."
                  << (b.cuda_runtime % 1000) / 10
                  << ": no GPU is usable until the driver is updated";
      }
      std::cout << (b.emulated ? " (emulated)\n" : "\n");
    }
  }
  std::string why;
  const int gpus = cuda_device_count(&why);
  std::cout << "devices:\n  cpu\n";
  for (int i = 0; i < gpus; ++i) {
    std::cout << "  cuda:" << i << (b.emulated ? " (emulated)" : "") << "\n";
  }
  if (gpus == 0 && b.cuda) std::cout << "  (no usable GPU: " << why << ")\n";

  print_memory_plan();

  std::cout << "ops (" << op_table().size() << "):\n";
  for (const OpDef* op : op_table()) {
    std::cout << "  " << std::left << std::setw(22) << op->name;
    for (int k = 0; k < kNumBackends; ++k) {
      const Backend backend = static_cast<Backend>(k);
      std::cout << ' ' << backend_name(backend)
                << (op->impl(backend).available() ? ":yes" : ":no ");
    }
    std::cout << "  " << op->summary << "\n";
    for (const AttrSpec& a : op->attrs) {
      std::cout << "      " << a.name << " = " << attr_to_string(a.default_value) << "  ("
                << a.expected() << ")" << (a.doc.empty() ? "" : "  " + a.doc) << "\n";
    }
  }
  return 0;
}

}  // namespace myelin::cli
