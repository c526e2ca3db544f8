#pragma once

// Host-side CUDA runtime services of the CUDA backend: device discovery, device memory from
// the stream-ordered allocator, copies, and turning CUDA status codes into myelin::Error.
// Only this backend's sources include CUDA headers; this header itself needs none.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/device_guard.hpp"
#include "myelin/device.hpp"
#include "myelin/op.hpp"
#include "myelin/tensor.hpp"

namespace myelin {
class StepLog;
struct DeviceContext;
}  // namespace myelin

namespace myelin::cuda {

// CUDA runtime version this library was compiled against (CUDART_VERSION).
int runtime_version_built();
// "major.minor.patch" of the cuBLAS library loaded.
std::string cublas_version();
// Whether cuBLAS is loaded in this process yet (real CUDA builds load it on first use).
bool cublas_loaded();
// Usable devices; 0 (with the reason in *why) when there is no driver, a driver older than the
// runtime, or no device.
int device_count(std::string* why);
// The CUDA version the installed driver supports (cudaDriverGetVersion: 12040 for 12.4), 0 without
// a driver; and a version as "12.4".
int driver_version();
std::string cuda_version_text(int version);
// Throws a clear myelin::Error unless `index` names a usable device.
void require_device(int index);

class Stream;  // backends/cuda/stream.hpp

// The library's stream of a device: the one tensors made outside any executor are allocated and
// copied on. Created on first use and kept for the process.
std::shared_ptr<Stream> default_stream(int device);
// A new stream on `device`.
std::shared_ptr<Stream> make_stream(int device);
// The stream of an executor's device context.
std::shared_ptr<Stream> stream_of(DeviceContext& dc);

// Device memory from the device's stream-ordered pool, usable in `stream`'s order.
void* device_alloc(const Stream& stream, std::size_t bytes);
// Frees in `stream`'s order, after the work queued so far on the `users` streams.
void device_free(const Stream& stream, void* ptr,
                 const std::vector<std::shared_ptr<Stream>>& users) noexcept;
// Copies bytes; a null stream marks host memory. The copy runs on the destination's stream (the
// source's when the destination is on the host), after the source's stream's queued work, and is
// complete on return.
void copy(void* dst, const Stream* dst_stream, const void* src, const Stream* src_stream,
          std::size_t bytes);
// `waiter` waits for the work queued so far on `producer` (an event, no host wait).
void wait_for(const Stream& waiter, const Stream& producer);

// An executor's execution state on a device (see backends/cuda/context.hpp), through functions
// that need no CUDA header.
std::shared_ptr<DeviceContext> make_device_context(int device, bool allow_tf32,
                                                   std::vector<std::string> node_labels);
// Before each node: kernels record errors under this node index.
void begin_node(DeviceContext& dc, int node);
// Before a forward pass: the dropout step, written to device memory in stream order.
void begin_forward(DeviceContext& dc, std::uint64_t step);
// Waits for the stream and raises any error a kernel recorded.
void synchronize(DeviceContext& dc);
// device_dst = src (same shape and type; src on the host or a device), in stream order; host
// data goes through slot `slot`'s pinned staging buffer (see DeviceContext::upload).
void upload(DeviceContext& dc, Tensor& device_dst, const Tensor& src, int slot);
// A host tensor over the slot's next pinned staging buffer (DeviceContext::staging_buffer).
Tensor staging(DeviceContext& dc, int slot, const Shape& shape, DType dtype);
// Rows of device logits [N, C] whose argmax is the label (labels int32/int64, any device).
std::int64_t count_correct(const Tensor& logits, const Tensor& labels);
// The training loop's asynchronous readback of losses and gradient norms (backends/step_log.hpp).
// `norm_source` gives where the last update's gradient norm lives in device memory (or null).
std::unique_ptr<StepLog> make_step_log(DeviceContext& dc, std::int64_t micro_batches,
                                       std::function<const double*()> norm_source);

}  // namespace myelin::cuda
