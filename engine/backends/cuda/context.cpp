#include "backends/cuda/context.hpp"

#include <cstdlib>
#include <cstring>

#include "backends/cuda/cuda_runtime.hpp"
#include "kernels/elementwise.hpp"
#include "memory.hpp"

namespace myelin {

namespace {
// 32 MiB: what cuBLAS asks for on Hopper to reach full speed with a user workspace.
constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;
}  // namespace

DeviceContext::DeviceContext(int device_index, bool allow_tf32)
    : device(device_index), tf32(allow_tf32) {
  cuda::require_device(device_index);
  cuda::DeviceGuard guard(device_index);
  try {
    MYELIN_CUDA_CHECK(
        cudaDeviceGetAttribute(&sm_count, cudaDevAttrMultiProcessorCount, device_index));
    stream_ref = cuda::make_stream(device_index);
    stream = stream_ref->get();
    MYELIN_CUBLAS_CHECK(cublasCreate(&cublas));
    MYELIN_CUBLAS_CHECK(cublasSetStream(cublas, stream));
    workspace_bytes = kWorkspaceBytes;
    MYELIN_CUDA_CHECK(cudaMallocAsync(&workspace, workspace_bytes, stream));
    MYELIN_CUBLAS_CHECK(cublasSetWorkspace(cublas, workspace, workspace_bytes));
    MYELIN_CUBLAS_CHECK(
        cublasSetMathMode(cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    MYELIN_CUBLAS_CHECK(cublasLtCreate(&lt));
    MYELIN_CUDA_CHECK(
        cudaMallocAsync(reinterpret_cast<void**>(&step), sizeof(std::uint64_t), stream));
    MYELIN_CUDA_CHECK(cudaMemsetAsync(step, 0, sizeof(std::uint64_t), stream));
    MYELIN_CUDA_CHECK(
        cudaMallocAsync(reinterpret_cast<void**>(&errors), sizeof(DeviceErrorRecord), stream));
    MYELIN_CUDA_CHECK(cudaMemsetAsync(errors, 0, sizeof(DeviceErrorRecord), stream));
    MYELIN_CUDA_CHECK(
        cudaMallocHost(reinterpret_cast<void**>(&host_errors_), sizeof(DeviceErrorRecord)));
    MYELIN_CUDA_CHECK(cudaStreamSynchronize(stream));
  } catch (...) {
    release();
    throw;
  }
  const char* debug = std::getenv("MYELIN_SYNC_DEBUG");
  sync_debug_ = debug != nullptr && std::strcmp(debug, "1") == 0;
}

DeviceContext::~DeviceContext() {
  release();
}

void DeviceContext::release() noexcept {
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return;
  cudaSetDevice(device);
  for (auto& [key, plan] : lt_plans) {
    if (plan.op) cublasLtMatmulDescDestroy(plan.op);
    if (plan.a) cublasLtMatrixLayoutDestroy(plan.a);
    if (plan.b) cublasLtMatrixLayoutDestroy(plan.b);
    if (plan.c) cublasLtMatrixLayoutDestroy(plan.c);
  }
  lt_plans.clear();
  if (stream) cudaStreamSynchronize(stream);
  for (auto& [slot, buffers] : staging_) {
    for (Staging& staging : buffers.buffers) {
      staging.host.reset();  // freed here unless a batch tensor still holds it
      if (staging.done) cudaEventDestroy(staging.done);
    }
  }
  staging_.clear();
  if (host_errors_) cudaFreeHost(host_errors_);
  if (lt) cublasLtDestroy(lt);
  if (cublas) cublasDestroy(cublas);
  for (void* p : {workspace, scratch_, static_cast<void*>(step), static_cast<void*>(errors)}) {
    if (p) cudaFreeAsync(p, stream);
  }
  lt = nullptr;
  cublas = nullptr;
  workspace = scratch_ = nullptr;
  step = nullptr;
  errors = nullptr;
  host_errors_ = nullptr;
  // The stream lives on while memory allocated on it does (it is freed there).
  stream = nullptr;
  stream_ref.reset();
  cudaSetDevice(previous);
}

void* DeviceContext::scratch(std::size_t bytes) {
  if (bytes <= scratch_bytes_) return scratch_;
  cuda::DeviceGuard guard(device);
  if (scratch_ != nullptr) MYELIN_CUDA_CHECK(cudaFreeAsync(scratch_, stream));
  ++graph_epoch;  // graphs writing into the old buffer are stale
  scratch_ = nullptr;
  scratch_bytes_ = 0;
  // Round up to limit regrowth.
  const std::size_t size = std::max<std::size_t>(bytes, 1 << 16) * 2;
  MYELIN_CUDA_CHECK(cudaMallocAsync(&scratch_, size, stream));
  scratch_bytes_ = size;
  return scratch_;
}

DeviceContext::Staging& DeviceContext::free_staging(int slot, std::size_t bytes) {
  Slot& s = staging_[slot];
  Staging& st = s.buffers[s.next];
  if (st.done == nullptr) {
    MYELIN_CUDA_CHECK(cudaEventCreateWithFlags(&st.done, cudaEventDisableTiming));
  } else if (!cuda::query(st.done, "a staging buffer's last upload")) {
    // The copy before last out of this buffer must have left it. It normally has (the training
    // loop has waited for an update queued after it): then the query says so and nothing waits.
    MYELIN_CUDA_CHECK(cudaEventSynchronize(st.done));
  }
  if (st.bytes < bytes) {
    st.host.reset();
    st.bytes = 0;
    void* pinned = nullptr;
    MYELIN_CUDA_CHECK(cudaMallocHost(&pinned, bytes));
    st.host = std::shared_ptr<void>(pinned, [](void* p) { cudaFreeHost(p); });
    st.bytes = bytes;
  }
  return st;
}

void* DeviceContext::staging_buffer(int slot, std::size_t bytes, std::shared_ptr<void>* owner) {
  cuda::DeviceGuard guard(device);
  Staging& st = free_staging(slot, bytes == 0 ? 1 : bytes);
  *owner = st.host;
  return st.host.get();
}

void DeviceContext::upload(void* device_dst, const void* host_src, std::size_t bytes, int slot) {
  if (bytes == 0) return;
  cuda::DeviceGuard guard(device);
  Slot& s = staging_[slot];
  Staging& next = s.buffers[s.next];
  // Written straight into the buffer staging_buffer handed out (free since then): no host copy.
  const bool in_place = next.host != nullptr && host_src == next.host.get() && bytes <= next.bytes;
  Staging& st = in_place ? next : free_staging(slot, bytes);
  s.next ^= 1;
  if (!in_place) {
    std::memcpy(st.host.get(), host_src, bytes);
    ++staged_copies;
  }
  MYELIN_CUDA_CHECK(
      cudaMemcpyAsync(device_dst, st.host.get(), bytes, cudaMemcpyHostToDevice, stream));
  MYELIN_CUDA_CHECK(cudaEventRecord(st.done, stream));
}

void DeviceContext::synchronize() {
  cuda::DeviceGuard guard(device);
  MYELIN_CUDA_CHECK(cudaMemcpyAsync(host_errors_, errors, sizeof(DeviceErrorRecord),
                                    cudaMemcpyDeviceToHost, stream));
  MYELIN_CUDA_CHECK(cudaStreamSynchronize(stream));
  const DeviceErrorRecord record = *host_errors_;
  if (record.code == 0) return;
  MYELIN_CUDA_CHECK(cudaMemsetAsync(errors, 0, sizeof(DeviceErrorRecord), stream));
  const std::string where = record.node >= 0 && record.node < static_cast<int>(node_labels.size())
                                ? node_labels[static_cast<std::size_t>(record.node)]
                                : std::string("a kernel");
  switch (record.code) {
    case kDeviceErrorLabelRange:
      fail(where, ": label ", record.detail[1], " at row ", record.detail[0],
           " is out of range [0, ", record.detail[2], ")");
    case kDeviceErrorMaskValue:
      fail(where, ": mask value at element ", record.detail[0], " is not 0 or 1");
    default:
      fail(where, ": device error code ", record.code);
  }
}

std::string DeviceContext::node_prefix() const {
  if (current_node < 0 || current_node >= static_cast<int>(node_labels.size())) return "";
  return node_labels[static_cast<std::size_t>(current_node)] + ": ";
}

void DeviceContext::check_launch(cudaError_t status, const char* kernel, const char* file,
                                 int line) {
  if (status != cudaSuccess) {
    fail(node_prefix(), "kernel launch ", kernel, " failed at ", file, ":", line, ": ",
         cudaGetErrorName(status), " (", cudaGetErrorString(status), ")", cuda::schedule_note());
  }
  if (sync_debug_) {
    const cudaError_t done = cudaStreamSynchronize(stream);
    if (done != cudaSuccess) {
      fail(node_prefix(), "kernel ", kernel, " (", file, ":", line,
           ") failed: ", cudaGetErrorName(done), " (", cudaGetErrorString(done), ")",
           cuda::schedule_note());
    }
    synchronize();
  }
}

namespace cuda {

std::shared_ptr<DeviceContext> make_device_context(int device, bool allow_tf32,
                                                   std::vector<std::string> node_labels) {
  auto dc = std::make_shared<DeviceContext>(device, allow_tf32);
  dc->node_labels = std::move(node_labels);
  return dc;
}

void begin_node(DeviceContext& dc, int node) {
  dc.current_node = node;
}

void begin_forward(DeviceContext& dc, std::uint64_t step) {
  if (dc.capturing) return;  // written before the capture, and before each launch of the graph
  DeviceGuard guard(dc.device);
  MYELIN_LAUNCH(dc, kernels::launch_write_u64(dc.step, step, dc.stream));
}

void synchronize(DeviceContext& dc) {
  dc.synchronize();
}

Tensor staging(DeviceContext& dc, int slot, const Shape& shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(shape.numel()) * dtype_size(dtype);
  std::shared_ptr<void> owner;
  void* host = dc.staging_buffer(slot, bytes, &owner);
  auto storage = std::make_shared<Storage>(host, bytes, Device::cpu());
  storage->owner = std::move(owner);
  return Tensor::wrap(std::move(storage), shape, dtype);
}

void upload(DeviceContext& dc, Tensor& device_dst, const Tensor& src, int slot) {
  if (src.device().is_cpu()) {
    dc.upload(device_dst.raw(), src.raw(), src.nbytes(), slot);
  } else {  // already on a device: a copy in stream order, after the work that made it
    use_on(*src.storage(), dc.stream_ref);
    DeviceGuard guard(dc.device);
    MYELIN_CUDA_CHECK(
        cudaMemcpyAsync(device_dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDefault, dc.stream));
  }
}

}  // namespace cuda

}  // namespace myelin
