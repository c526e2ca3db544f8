// Copies and sets on the emulated runtime: checked against the kinds of their pointers and the
// allocations they fall in, counted by direction and queued on a stream; pageable host sources
// are staged at the call.
#include <cstring>
#include <memory>
#include <sstream>
#include <vector>

#include "internal.hpp"

namespace myelin::emu::detail {

namespace {

std::string describe_pointer(const void* p) {
  std::ostringstream out;
  out << p;
  const int d = device_of(p);
  if (d >= 0) out << " (cuda:" << d << ")";
  return out.str();
}

// Pointer classes of a copy.
enum class Where { kDevice, kPinned, kPageable };

Where where_is(const void* p, std::size_t bytes) {
  if (device_of(p) >= 0) return Where::kDevice;
  return is_pinned(p, bytes) ? Where::kPinned : Where::kPageable;
}

cudaError_t check_device_range(const void* p, std::size_t bytes, const char* what) {
  if (find_allocation(p, bytes) != nullptr) return cudaSuccess;
  std::ostringstream m;
  m << what << ": [" << describe_pointer(p) << ", +" << bytes
    << ") is not inside one live device allocation";
  fault(cudaErrorInvalidValue, m.str());
  return cudaErrorInvalidValue;
}

// Queues a copy; pageable host sources are read now (the runtime stages them), everything else
// when the copy executes.
const char* direction(Where from, Where to) {
  if (from == Where::kDevice) return to == Where::kDevice ? "device to device" : "device to host";
  return to == Where::kDevice ? "host to device" : "host to host";
}

// The range a graph replay checks for one side of a copy (none for pageable memory, which a
// capture refuses).
void add_range(Op& op, const void* p, std::size_t bytes, Where where, const char* role) {
  if (where == Where::kPageable) return;
  op.ranges.push_back(Range{p, bytes, where == Where::kDevice, where == Where::kPinned, role});
}

cudaError_t queue_copy(const char* call, void* dst, const void* src, std::size_t bytes,
                       cudaMemcpyKind kind, StreamState& s, bool* to_pageable_host) {
  *to_pageable_host = false;
  if (bytes == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const Where from = where_is(src, bytes), to = where_is(dst, bytes);
  const bool dev_src = from == Where::kDevice, dev_dst = to == Where::kDevice;
  switch (kind) {
    case cudaMemcpyHostToHost:
      if (dev_src || dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyHostToDevice:
      if (dev_src || !dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDeviceToHost:
      if (!dev_src || dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDeviceToDevice:
      if (!dev_src || !dev_dst) return cudaErrorInvalidValue;
      break;
    case cudaMemcpyDefault:
      break;
    default:
      return cudaErrorInvalidMemcpyDirection;
  }
  if (dev_src && check_device_range(src, bytes, "copy source") != cudaSuccess) {
    return cudaErrorInvalidValue;
  }
  if (dev_dst && check_device_range(dst, bytes, "copy destination") != cudaSuccess) {
    return cudaErrorInvalidValue;
  }
  Op op;
  op.what = std::string(call) + " " + direction(from, to);
  add_range(op, src, bytes, from, "source");
  add_range(op, dst, bytes, to, "destination");
  if (dev_src) op.devices.push_back(device_of(src));
  if (dev_dst && device_of(dst) != device_of(src)) op.devices.push_back(device_of(dst));
  if (from == Where::kPageable) {
    auto staged = std::make_shared<std::vector<unsigned char>>(
        static_cast<const unsigned char*>(src), static_cast<const unsigned char*>(src) + bytes);
    op.run = [dst, staged]() {
      std::memcpy(dst, staged->data(), staged->size());
      return cudaSuccess;
    };
  } else {
    op.run = [dst, src, bytes]() {
      std::memmove(dst, src, bytes);
      return cudaSuccess;
    };
  }
  Counters& c = emulator().counters;
  if (dev_src && dev_dst) {
    c.bytes_device_to_device += bytes;
    op.bytes_device_to_device = bytes;
  } else if (dev_dst) {
    c.bytes_host_to_device += bytes;
    op.bytes_host_to_device = bytes;
    ++c.copies_to_device;
    op.copies_to_device = 1;
  } else if (dev_src) {
    c.bytes_device_to_host += bytes;
    op.bytes_device_to_host = bytes;
    ++c.copies_to_host;
    op.copies_to_host = 1;
  }
  enqueue(s, std::move(op));
  *to_pageable_host = to == Where::kPageable;
  return cudaSuccess;
}

cudaError_t queue_memset(void* p, int value, std::size_t bytes, StreamState& s) {
  if (bytes == 0) return cudaSuccess;
  if (device_of(p) < 0) return cudaErrorInvalidValue;
  if (check_device_range(p, bytes, "memset") != cudaSuccess) return cudaErrorInvalidValue;
  Op op;
  op.what = "cudaMemsetAsync";
  op.ranges.push_back(Range{p, bytes, true, false, "destination"});
  op.devices.push_back(device_of(p));
  op.run = [p, value, bytes]() {
    std::memset(p, value, bytes);
    return cudaSuccess;
  };
  enqueue(s, std::move(op));
  return cudaSuccess;
}

}  // namespace

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- copies and sets ----------------------------------------------------------------------------

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capture && bytes > 0 &&
      ((device_of(src) < 0 && !is_pinned(src, bytes)) ||
       (device_of(dst) < 0 && !is_pinned(dst, bytes)))) {
    // A graph replays copies from and to fixed addresses, which pageable memory cannot promise.
    invalidate_capture(*s->capture, cudaErrorStreamCaptureUnsupported,
                       "cudaMemcpyAsync with pageable host memory on a capturing stream");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  if (const cudaError_t c = check_implicit_capture_join(*s, "cudaMemcpyAsync")) {
    return set_error(c);
  }
  bool to_pageable = false;
  const cudaError_t e = queue_copy("cudaMemcpyAsync", dst, src, bytes, kind, *s, &to_pageable);
  if (e != cudaSuccess) return set_error(e);
  count_work("cudaMemcpyAsync");
  // A copy to pageable host memory returns only once it is done.
  if (to_pageable) return set_error(synchronize_to(*s, s->enqueued));
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaMemcpy")) return set_error(c);
  StreamPtr s = resolve_stream(nullptr);
  bool to_pageable = false;
  const bool host_source = device_of(src) < 0;
  const cudaError_t e = queue_copy("cudaMemcpy", dst, src, bytes, kind, *s, &to_pageable);
  if (e != cudaSuccess) return set_error(e);
  count_work("cudaMemcpy");
  // cudaMemcpy waits for the copy unless it is device to device.
  if (host_source || to_pageable || device_of(dst) < 0) {
    return set_error(synchronize_to(*s, s->enqueued));
  }
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (const cudaError_t c = check_implicit_capture_join(*s, "cudaMemsetAsync")) {
    return set_error(c);
  }
  return set_error(queue_memset(ptr, value, bytes, *s));
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  {
    ApiLock lock;
    if (const cudaError_t c = forbidden_while_capturing("cudaMemset")) return set_error(c);
  }
  return cudaMemsetAsync(ptr, value, bytes, nullptr);
}
