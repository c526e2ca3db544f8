// Routes the engine to the backend of a device. The one place above the CUDA backend's own
// sources that knows whether it is built.
#include "backends/backend.hpp"

#include <algorithm>

#include "backends/cpu/blas.hpp"
#include "backends/step_log.hpp"
#include "memory.hpp"
#include "myelin/error.hpp"

#if defined(MYELIN_WITH_CUDA)
#include "backends/cuda/cuda_runtime.hpp"
#endif

namespace myelin {

void ExecutionBackend::begin_capture() {
  fail("the ", backend_name(kind()), " backend has no graphs");
}
void ExecutionBackend::end_capture(const std::string& /*key*/) {
  fail("the ", backend_name(kind()), " backend has no graphs");
}
Tensor ExecutionBackend::staging(int /*slot*/, const Shape& /*shape*/, DType /*dtype*/) {
  return Tensor();
}

bool ExecutionBackend::has_graph(const std::string& /*key*/) {
  return false;
}
void ExecutionBackend::launch_graph(const std::string& /*key*/) {
  fail("the ", backend_name(kind()), " backend has no graphs");
}

std::unique_ptr<ExecutionBackend> make_cpu_backend();
#if defined(MYELIN_WITH_CUDA)
std::unique_ptr<ExecutionBackend> make_cuda_backend(const BackendOptions& options);
#endif

ExecutionBackend::~ExecutionBackend() = default;
UpdateCache::~UpdateCache() = default;
DeviceScopeGuard::~DeviceScopeGuard() = default;
StepLog::~StepLog() = default;

void StepLog::make_room() {}

int StepLog::begin_graphed_update() {
  fail("step log: this backend runs no graphs");
}
void StepLog::queue_update_copies() {
  fail("step log: this backend runs no graphs");
}
void StepLog::replay_loss(double /*weight*/) {
  fail("step log: this backend runs no graphs");
}
void StepLog::commit_update() {
  fail("step log: this backend runs no graphs");
}

#if !defined(MYELIN_WITH_CUDA)
namespace {
[[noreturn]] void no_cuda(const std::string& what) {
  fail(what,
       ": myelin was built without the CUDA backend (configure with -DMYELIN_CUDA=ON on a "
       "machine with the CUDA toolkit)");
}
}  // namespace
#endif

std::unique_ptr<ExecutionBackend> make_execution_backend(const BackendOptions& options) {
  if (options.device.is_cpu()) return make_cpu_backend();
#if defined(MYELIN_WITH_CUDA)
  cuda::DeviceGuard current(options.device.index);
  return make_cuda_backend(options);
#else
  fail("executor: myelin was built without the CUDA backend; ", options.device.str(),
       " is not available");
#endif
}

namespace backend {

std::shared_ptr<Storage> allocate_device_storage(Device device, std::size_t bytes,
                                                 std::shared_ptr<cuda::Stream> stream) {
#if defined(MYELIN_WITH_CUDA)
  if (!stream) stream = cuda::default_stream(device.index);
  void* p = cuda::device_alloc(*stream, bytes);
  return std::make_shared<Storage>(p, bytes, device, 0, std::move(stream));
#else
  (void)bytes;
  (void)stream;
  no_cuda("allocating a tensor on " + device.str());
#endif
}

void free_device_storage([[maybe_unused]] Storage& storage) noexcept {
#if defined(MYELIN_WITH_CUDA)
  void* base = static_cast<unsigned char*>(storage.ptr) - storage.guard;
  cuda::device_free(*storage.stream, base, storage.users);
#endif
}

void copy_device_bytes(void* dst, const Storage* dst_storage, const void* src,
                       const Storage* src_storage, std::size_t bytes) {
#if defined(MYELIN_WITH_CUDA)
  const bool dst_device = dst_storage != nullptr && dst_storage->device.is_cuda();
  const bool src_device = src_storage != nullptr && src_storage->device.is_cuda();
  cuda::copy(dst, dst_device ? dst_storage->stream.get() : nullptr, src,
             src_device ? src_storage->stream.get() : nullptr, bytes);
#else
  (void)dst, (void)dst_storage, (void)src, (void)src_storage, (void)bytes;
  no_cuda("copying a tensor to or from cuda");
#endif
}

void use_device_storage_on([[maybe_unused]] Storage& storage,
                           [[maybe_unused]] const std::shared_ptr<cuda::Stream>& stream) {
#if defined(MYELIN_WITH_CUDA)
  cuda::wait_for(*stream, *storage.stream);
  if (std::find(storage.users.begin(), storage.users.end(), stream) == storage.users.end()) {
    storage.users.push_back(stream);
  }
#endif
}

std::int64_t count_correct_on_device([[maybe_unused]] const Tensor& logits,
                                     [[maybe_unused]] const Tensor& labels) {
#if defined(MYELIN_WITH_CUDA)
  return cuda::count_correct(logits, labels);
#else
  no_cuda("accuracy of device logits");
#endif
}

void describe_cuda_build([[maybe_unused]] BuildInfo& info) {
#if defined(MYELIN_WITH_CUDA)
  info.cuda = true;
#if defined(MYELIN_EMULATED_DEVICE)
  info.emulated = true;
#endif
  info.cuda_runtime = cuda::runtime_version_built();
  info.cuda_driver = cuda::driver_version();
  info.cublas = cuda::cublas_version();
#endif
#if defined(MYELIN_CUDNN_VERSION)
  info.cudnn = MYELIN_CUDNN_VERSION;
#endif
}

int cuda_device_count(std::string* why) {
#if defined(MYELIN_WITH_CUDA)
  return cuda::device_count(why);
#else
  if (why != nullptr) *why = "myelin was built without the CUDA backend";
  return 0;
#endif
}

}  // namespace backend

}  // namespace myelin
