#include "backends/cuda/cuda_runtime.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/context.hpp"
#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/stream.hpp"

#if defined(MYELIN_EMULATED_DEVICE)
#include "myelin_emu/emulator.hpp"
#endif

namespace myelin::cuda {

std::string schedule_note() {
#if defined(MYELIN_EMULATED_DEVICE)
  return " [emulated device: " + emu::schedule_description() + "]";
#else
  return "";
#endif
}

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  // The runtime also keeps the status as the last error, where the next launch's
  // cudaGetLastError() would report it again as its own: it is reported here, once.
  cudaGetLastError();
  fail(call, " failed at ", file, ":", line, ": ", cudaGetErrorName(status), " (",
       cudaGetErrorString(status), ")", schedule_note());
}

bool query(cudaEvent_t event, const char* what) {
  const cudaError_t status = cudaEventQuery(event);
  if (status == cudaErrorNotReady) {
    cudaGetLastError();  // an answer, not a failure of whatever is launched next
    return false;
  }
  if (status != cudaSuccess) {
    cudaGetLastError();  // reported here, once
    fail("cudaEventQuery of ", what, ": ", cudaGetErrorName(status), " (",
         cudaGetErrorString(status), ")", schedule_note());
  }
  return true;
}

DeviceGuard::DeviceGuard(int index) {
  MYELIN_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != index) MYELIN_CUDA_CHECK(cudaSetDevice(index));
  changed_ = previous_ != index;
}

DeviceGuard::~DeviceGuard() {
  if (changed_) cudaSetDevice(previous_);
}

int runtime_version_built() {
  return CUDART_VERSION;
}

std::string cublas_version() {
  // The headers' version: reading the loaded library's would load cuBLAS (~200 MiB) in every
  // process that asks for the build information, CPU runs included. The library loaded later is
  // the same major version (libcublas.so.<major>).
  return std::to_string(CUBLAS_VER_MAJOR) + "." + std::to_string(CUBLAS_VER_MINOR) + "." +
         std::to_string(CUBLAS_VER_PATCH);
}

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

int driver_version() {
  int version = 0;
  if (cudaDriverGetVersion(&version) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return version;
}

int device_count(std::string* why) {
  int count = 0;
  // Without a driver this call fails (it does not return 0): report that as "no GPU".
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error state for later calls
    if (why != nullptr) {
      *why = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
             cudaGetErrorString(status) + ")";
      const int driver = driver_version();
      if (status == cudaErrorInsufficientDriver && driver > 0) {
        *why += ": the driver supports CUDA " + cuda_version_text(driver) +
                ", older than the CUDA runtime " + cuda_version_text(CUDART_VERSION) +
                " this myelin was built with; install a driver for CUDA " +
                cuda_version_text(CUDART_VERSION) + " or newer";
      } else if (status == cudaErrorInsufficientDriver) {
        *why += ": no NVIDIA driver is installed";
      }
    }
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "the CUDA driver reports no device";
  return count;
}

std::shared_ptr<Stream> stream_of(DeviceContext& dc) {
  return dc.stream_ref;
}

void require_device(int index) {
  std::string why;
  const int count = device_count(&why);
  if (count == 0) fail("no usable CUDA device: ", why);
  if (index < 0 || index >= count) {
    fail("CUDA device ", index, " does not exist (", count, " device", count == 1 ? "" : "s",
         " found)");
  }
}

namespace {

// Once per device: the default pool keeps what it holds across synchronisations (its release
// threshold is 0 by default, so every synchronisation would hand freed memory back to the driver
// and the next step would allocate it again).
void prepare_device(int device) {
  static std::mutex mutex;
  static std::vector<bool> prepared;
  const std::lock_guard<std::mutex> lock(mutex);
  if (device < static_cast<int>(prepared.size()) && prepared[static_cast<std::size_t>(device)]) {
    return;
  }
  cudaMemPool_t pool = nullptr;
  MYELIN_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  std::uint64_t keep = std::numeric_limits<std::uint64_t>::max();
  MYELIN_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep));
  if (device >= static_cast<int>(prepared.size())) {
    prepared.resize(static_cast<std::size_t>(device) + 1, false);
  }
  prepared[static_cast<std::size_t>(device)] = true;
}

}  // namespace

Stream::Stream(int device) : device_(device) {
  require_device(device);
  DeviceGuard guard(device);
  prepare_device(device);
  MYELIN_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
}

Stream::~Stream() {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return;
  if (previous != device_) cudaSetDevice(device_);
  cudaStreamSynchronize(stream_);
  cudaStreamDestroy(stream_);
  if (previous != device_) cudaSetDevice(previous);
}

std::shared_ptr<Stream> make_stream(int device) {
  return std::make_shared<Stream>(device);
}

std::shared_ptr<Stream> default_stream(int device) {
  static std::mutex mutex;
  // Kept for the process: device memory of tensors that outlive everything is freed on them.
  static auto* streams = new std::map<int, std::shared_ptr<Stream>>();
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = streams->find(device);
  if (it == streams->end()) it = streams->emplace(device, make_stream(device)).first;
  return it->second;
}

void* device_alloc(const Stream& stream, std::size_t bytes) {
  DeviceGuard guard(stream.device());
  void* ptr = nullptr;
  const cudaError_t status = cudaMallocAsync(&ptr, bytes == 0 ? 1 : bytes, stream.get());
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    fail("out of memory on cuda:", stream.device(), ": asked for ", bytes, " bytes, ", free_bytes,
         " of ", total_bytes, " bytes free");
  }
  MYELIN_CUDA_CHECK(status);
  return ptr;
}

void device_free(const Stream& stream, void* ptr,
                 const std::vector<std::shared_ptr<Stream>>& users) noexcept {
  try {
    DeviceGuard guard(stream.device());
    for (const std::shared_ptr<Stream>& user : users) wait_for(stream, *user);
    cudaFreeAsync(ptr, stream.get());
  } catch (...) {  // freeing never throws: a failed free leaks
  }
}

void wait_for(const Stream& waiter, const Stream& producer) {
  if (&waiter == &producer) return;
  DeviceGuard guard(producer.device());
  cudaEvent_t done = nullptr;
  MYELIN_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  MYELIN_CUDA_CHECK(cudaEventRecord(done, producer.get()));
  const cudaError_t wait = cudaStreamWaitEvent(waiter.get(), done, 0);
  cudaEventDestroy(done);  // released once it has completed
  MYELIN_CUDA_CHECK(wait);
}

void copy(void* dst, const Stream* dst_stream, const void* src, const Stream* src_stream,
          std::size_t bytes) {
  const Stream& on = dst_stream != nullptr ? *dst_stream : *src_stream;
  if (src_stream != nullptr && src_stream != &on) wait_for(on, *src_stream);
  DeviceGuard guard(on.device());
  MYELIN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, on.get()));
  MYELIN_CUDA_CHECK(cudaStreamSynchronize(on.get()));
}

}  // namespace myelin::cuda
