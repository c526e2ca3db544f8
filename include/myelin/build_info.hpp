#pragma once

#include <string>

#include "myelin/export.hpp"

namespace myelin {

struct BuildInfo {
  std::string version;
  bool cuda = false;      // built with the CUDA backend
  bool emulated = false;  // ... running on the emulated device (MYELIN_CUDA=EMULATED): no GPU
  int cuda_runtime = 0;   // CUDA runtime version it was built against (e.g. 13000), 0 if none
  int cuda_driver = 0;    // CUDA version the installed driver supports (e.g. 12040), 0 if none
  std::string cublas;     // cuBLAS version ("13.0.2"), empty if none
  std::string cudnn;      // cuDNN found at build time (the benchmarks' baseline), empty if none
  std::string blas;       // BLAS library and threading model
  std::string compiler;
};

MYELIN_API BuildInfo build_info();

// Number of usable CUDA devices: 0 when built without CUDA, when there is no driver, or no
// device. `why` (optional) receives the reason when it is 0.
MYELIN_API int cuda_device_count(std::string* why = nullptr);
MYELIN_API bool cuda_available();

}  // namespace myelin
