// Events of the emulated runtime: markers in a stream's work that other streams and the host
// wait for.
#include <memory>

#include "internal.hpp"

using namespace myelin::emu::detail;

// ---- events -------------------------------------------------------------------------------------

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  ApiLock lock;
  if (event == nullptr) return set_error(cudaErrorInvalidValue);
  auto ev = std::make_unique<EventState>();
  ev->device = current_device();
  ev->flags = flags;
  *event = reinterpret_cast<cudaEvent_t>(ev.get());
  emulator().events[ev.get()] = std::move(ev);
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  ApiLock lock;
  if (emulator().events.erase(event) == 0) return set_error(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  EventState& ev = *it->second;
  // An event and the stream it is recorded on must belong to the same device.
  if (ev.device != s->device) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capture) {  // a point inside the capture: other work of the capture may wait for it
    ev.captured = s->capture;
    ev.stream = nullptr;
    return cudaSuccess;
  }
  if (const cudaError_t c = check_implicit_capture_join(*s, "cudaEventRecord")) {
    return set_error(c);
  }
  ev.captured = nullptr;
  // A marker in the stream: the event completes when the work queued before it has.
  Op op;
  op.run = [] { return cudaSuccess; };
  enqueue(*s, std::move(op));
  ev.stream = s;
  ev.seq = s->enqueued;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  EventState& ev = *it->second;
  if (const cudaError_t c = forbidden_while_capturing("cudaEventSynchronize")) return set_error(c);
  if (ev.captured) return set_error(cudaErrorCapturedEvent);
  if (!ev.stream) {
    ++e.counters.blocking_waits;
    return cudaSuccess;
  }
  return set_error(synchronize_to(*ev.stream, ev.seq));
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end()) return set_error(cudaErrorInvalidResourceHandle);
  ++e.counters.event_queries;
  EventState& ev = *it->second;
  if (ev.captured) return set_error(cudaErrorCapturedEvent);
  if (!ev.stream) return cudaSuccess;
  cudaError_t err = cudaSuccess;
  const bool done = query_progress(*ev.stream, ev.seq, &err);
  const cudaError_t pending = take_pending(ev.stream->device);
  if (err == cudaSuccess) err = pending;
  if (err == cudaSuccess && !done) {
    ++e.counters.not_ready;
    err = cudaErrorNotReady;  // recorded as the last error too, as the runtime does
  }
  return set_error(err);
}
