// myelin info: the build, the usable devices and the op table with its implementations.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "myelin/app.hpp"

namespace myelin::cli {

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
  std::string why;
  const int gpus = cuda_device_count(&why);
  std::cout << "devices:\n  cpu\n";
  for (int i = 0; i < gpus; ++i) {
    std::cout << "  cuda:" << i << (b.emulated ? " (emulated)" : "") << "\n";
  }
  if (gpus == 0 && b.cuda) std::cout << "  (no usable GPU: " << why << ")\n";

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
