#pragma once

// The CUDA backend's execution state for one executor: a device, one non-blocking stream (every
// allocation, free, copy and kernel of the executor is ordered on it explicitly), cuBLAS and
// cuBLASLt handles with a fixed workspace (so GEMMs give the same bits every run), a scratch
// buffer for reduction partials, and the device scalars kernels read instead of host values
// (the dropout step) or write for the host to check later (input errors).

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "backends/cuda/cuda_check.hpp"
#include "backends/cuda/stream.hpp"
#include "kernels/device_errors.hpp"
#include "myelin/op.hpp"

namespace myelin {

struct DeviceContext {
  int device = 0;
  int sm_count = 1;
  bool tf32 = false;
  std::shared_ptr<cuda::Stream> stream_ref;  // shared with the memory allocated on it
  cudaStream_t stream = nullptr;             // stream_ref's handle
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;  // cuBLAS / cuBLASLt workspace, fixed per stream
  std::size_t workspace_bytes = 0;
  std::uint64_t* step = nullptr;        // the dropout step of the running forward pass
  DeviceErrorRecord* errors = nullptr;  // device memory
  int current_node = -1;                // set by the executor before each node
  // The stream is capturing a CUDA Graph: per-step scalars were written before the capture.
  bool capturing = false;
  // Counts replacements of memory that captured graphs may point to and that outlives a step (the
  // scratch buffer, the fused optimizer's tables, a step log's buffers): a graph captured under
  // another count must not be replayed (graphs.hpp).
  std::uint64_t graph_epoch = 0;
  std::vector<std::string> node_labels;  // "node 'ce' (softmax_cross_entropy)", by node index
  // Uploads whose data the host copied into a staging buffer (not written there in place).
  std::uint64_t staged_copies = 0;

  DeviceContext(int device_index, bool allow_tf32);
  ~DeviceContext();
  DeviceContext(const DeviceContext&) = delete;
  DeviceContext& operator=(const DeviceContext&) = delete;

  // A device buffer of at least `bytes` for temporaries of the current kernel sequence.
  // Grows on demand (stream-ordered, so earlier kernels keep their old buffer until done).
  void* scratch(std::size_t bytes);
  // Copies host data to device memory in stream order, through pinned staging buffers of its
  // own per `slot` (an input), two of them used in turn: the host waits only while the copy
  // before last out of a buffer is still pending, so batch uploads overlap the device's work.
  // Data already in the slot's next buffer (staging_buffer) is not copied on the host again.
  void upload(void* device_dst, const void* host_src, std::size_t bytes, int slot);
  // The slot's next pinned staging buffer, of at least `bytes`, once its last upload has left
  // it; *owner keeps it alive. Writing a batch here and uploading it copies it on the host once.
  void* staging_buffer(int slot, std::size_t bytes, std::shared_ptr<void>* owner);
  // Waits for the stream and raises any error a kernel recorded.
  void synchronize();
  // After a launch: checks the launch status, and with MYELIN_SYNC_DEBUG=1 waits for the
  // kernel so that a failure is reported at the kernel that caused it.
  void check_launch(cudaError_t status, const char* kernel, const char* file, int line);
  // Whether launches are synchronised one by one (MYELIN_SYNC_DEBUG=1), which a capture forbids.
  bool sync_debug() const { return sync_debug_; }
  // "node 'bn' (batch_norm): " while a node's kernels are launched, else "".
  std::string node_prefix() const;

  // cuBLASLt matmul plans, chosen once per problem (the same algorithm every call).
  struct LtPlan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t, int>, LtPlan> lt_plans;

 private:
  void release() noexcept;

  void* scratch_ = nullptr;
  std::size_t scratch_bytes_ = 0;
  struct Staging {
    std::shared_ptr<void> host;  // pinned; freed once neither the slot nor a tensor holds it
    std::size_t bytes = 0;
    cudaEvent_t done = nullptr;  // the last copy out of it
  };
  // The slot's next buffer, free (its last copy has left it) and of at least `bytes`.
  Staging& free_staging(int slot, std::size_t bytes);
  struct Slot {
    Staging buffers[2];
    int next = 0;
  };
  std::map<int, Slot> staging_;
  DeviceErrorRecord* host_errors_ = nullptr;  // pinned: the record read back by synchronize()
  bool sync_debug_ = false;
};

}  // namespace myelin

// Checks a kernel launcher's status (they return cudaGetLastError()).
#define MYELIN_LAUNCH(ctx, call) (ctx).check_launch((call), #call, __FILE__, __LINE__)

// Checks a cuBLAS or cuBLASLt status; the _AT form puts `prefix` (the node, dc.node_prefix())
// before the message.
#define MYELIN_CUBLAS_CHECK_AT(prefix, call)                                                    \
  do {                                                                                          \
    const cublasStatus_t myelin_cublas_status_ = (call);                                        \
    if (myelin_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                       \
      ::myelin::fail(prefix, #call, " failed at ", __FILE__, ":", __LINE__, ": cuBLAS status ", \
                     static_cast<int>(myelin_cublas_status_), " (",                             \
                     cublasGetStatusString(myelin_cublas_status_), ")",                         \
                     ::myelin::cuda::schedule_note());                                          \
    }                                                                                           \
  } while (0)
#define MYELIN_CUBLAS_CHECK(call) MYELIN_CUBLAS_CHECK_AT("", call)
