#include "myelin/build_info.hpp"

#include "backends/cpu/blas.hpp"

#include "backends/backend.hpp"

namespace myelin {

BuildInfo build_info() {
  BuildInfo info;
  info.version = MYELIN_VERSION;
  backend::describe_cuda_build(info);
  info.blas = cpu::blas_description();
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " __VERSION__;
#endif
  return info;
}

int cuda_device_count(std::string* why) {
  return backend::cuda_device_count(why);
}

bool cuda_available() {
  return cuda_device_count() > 0;
}

}  // namespace myelin
