#include "myelin/build_info.hpp"

#include "backends/cpu/blas.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_runtime.hpp"
#endif

namespace myelin {

BuildInfo build_info() {
  BuildInfo info;
  info.version = MYELIN_VERSION;
#if defined(MYELIN_WITH_CUDA)
  info.cuda = true;
#if defined(MYELIN_EMULATED_DEVICE)
  info.emulated = true;
#endif
  info.cuda_runtime = cuda::runtime_version_built();
  info.cublas = cuda::cublas_version();
#endif
#if defined(MYELIN_CUDNN_VERSION)
  info.cudnn = MYELIN_CUDNN_VERSION;
#endif
  info.blas = cpu::blas_description();
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#endif
  return info;
}

int cuda_device_count(std::string* why) {
#if defined(MYELIN_WITH_CUDA)
  return cuda::device_count(why);
#else
  if (why != nullptr) *why = "myelin was built without the CUDA backend";
  return 0;
#endif
}

bool cuda_available() {
  return cuda_device_count() > 0;
}

}  // namespace myelin
