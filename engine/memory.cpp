#include "memory.hpp"

#include <cstdlib>
#include <cstring>

#include "myelin/error.hpp"
#include "myelin/tensor.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_runtime.hpp"
#endif

namespace myelin {

#if !defined(MYELIN_WITH_CUDA)
namespace {
[[noreturn]] void no_cuda(const char* what) {
  fail(what,
       ": myelin was built without the CUDA backend (configure with -DMYELIN_CUDA=ON on a "
       "machine with the CUDA toolkit)");
}
}  // namespace
#endif

Storage::~Storage() {
  if (ptr == nullptr) return;
  if (device.is_cpu()) {
    std::free(ptr);
  } else {
#if defined(MYELIN_WITH_CUDA)
    cuda::device_free(device.index, ptr);
#endif
  }
}

std::shared_ptr<Storage> allocate_storage(Device device, std::size_t bytes) {
  if (device.is_cpu()) {
    // aligned_alloc wants a size that is a multiple of the alignment; never ask for 0 bytes.
    const std::size_t rounded =
        ((bytes == 0 ? 1 : bytes) + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    void* p = std::aligned_alloc(kHostAlignment, rounded);
    if (p == nullptr) fail("out of host memory: could not allocate ", bytes, " bytes");
    return std::make_shared<Storage>(p, bytes, device);
  }
#if defined(MYELIN_WITH_CUDA)
  return std::make_shared<Storage>(cuda::device_alloc(device.index, bytes), bytes, device);
#else
  no_cuda("allocating a tensor on cuda");
#endif
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if defined(MYELIN_WITH_CUDA)
  cuda::copy(dst, dst_device, src, src_device, bytes);
#else
  no_cuda("copying a tensor to or from cuda");
#endif
}

}  // namespace myelin
