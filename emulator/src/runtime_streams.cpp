// Streams of the emulated runtime: work queued in order, with the legacy default stream's implicit
// synchronisation, executed after the work it depends on in other streams: when the host waits
// for it, and, as a device would, at times the host cannot predict (the progress schedule drawn
// from the seed: after calls that queue work, and at queries, which may answer "not ready");
// the stream API.
#include <algorithm>
#include <memory>

#include "internal.hpp"

namespace myelin::emu::detail {

StreamPtr resolve_stream(cudaStream_t stream) {
  Emulator& e = emulator();
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) {
    Device* d = device_at(current_device());
    return d != nullptr ? d->legacy : nullptr;
  }
  auto it = e.streams.find(stream);
  return it == e.streams.end() ? nullptr : it->second;
}

void enqueue(StreamState& s, Op op) {
  if (s.capture) {
    if (s.capture->invalidated == cudaSuccess) s.capture->ops.push_back(std::move(op));
    return;
  }
  Device& d = *device_at(s.device);
  op.seq = ++s.enqueued;
  // Legacy default-stream semantics: the legacy stream waits for every blocking stream of its
  // device, and blocking streams wait for the legacy stream.
  if (s.legacy) {
    for (const auto& weak : d.streams) {
      if (StreamPtr other = weak.lock()) {
        if (!other->non_blocking && other->enqueued > other->completed) {
          op.deps.emplace_back(other, other->enqueued);
        }
      }
    }
  } else if (!s.non_blocking && d.legacy->enqueued > d.legacy->completed) {
    op.deps.emplace_back(d.legacy, d.legacy->enqueued);
  }
  s.pending.push_back(std::move(op));
  progress_point(s.device);
}

void progress_point(int device) {
  Emulator& e = emulator();
  if (e.progress == Progress::kLazy) return;
  if (e.progress == Progress::kEager) {
    run_all(device);  // a fault is reported at the next synchronisation
    return;
  }
  // Now and then the device is busy for a long while (a long kernel, another process): nothing
  // completes during the next 64 to 255 calls, and queries answer not ready, so the host runs
  // several steps ahead.
  if (e.stalled > 0) {
    --e.stalled;
    return;
  }
  if (progress_draw() % 64 == 0) {
    e.stalled = 64 + progress_draw() % 192;
    return;
  }
  // Mostly the device is still busy with earlier work and nothing more completes; sometimes one
  // operation, some or all of a stream's work, or all of the device's does.
  const std::uint64_t r = progress_draw() % 32;
  if (r < 22) return;
  Device* d = device_at(device);
  std::vector<StreamPtr> busy;
  if (d->legacy->completed < d->legacy->enqueued) busy.push_back(d->legacy);
  for (const auto& weak : d->streams) {
    StreamPtr s = weak.lock();
    if (s && s->completed < s->enqueued) busy.push_back(s);
  }
  if (busy.empty()) return;
  if (r == 31) {
    run_all(device);
    return;
  }
  StreamState& s = *busy[progress_draw() % busy.size()];
  const std::uint64_t left = s.enqueued - s.completed;
  std::uint64_t upto = s.completed + 1;         // one operation
  if (r >= 28) upto += progress_draw() % left;  // some
  if (r == 30) upto = s.enqueued;               // all of the stream's
  run_until(s, upto);
}

bool query_progress(StreamState& s, std::uint64_t seq, cudaError_t* error) {
  *error = cudaSuccess;
  if (s.completed >= seq) return true;
  Emulator& e = emulator();
  if (e.progress == Progress::kAsync && e.stalled > 0) {  // busy: a poll only passes the time
    --e.stalled;
    return false;
  }
  if (e.progress != Progress::kAsync || progress_draw() % 2 == 0) {
    *error = run_until(s, seq);
    return true;
  }
  // Still running: part of it has completed, perhaps none.
  *error = run_until(s, s.completed + progress_draw() % (seq - s.completed));
  return s.completed >= seq;
}

cudaError_t run_until(StreamState& s, std::uint64_t seq) {
  cudaError_t first = cudaSuccess;
  while (s.completed < seq && !s.pending.empty()) {
    Op op = std::move(s.pending.front());
    s.pending.pop_front();
    for (auto& [other, other_seq] : op.deps) {
      if (other->completed < other_seq) {
        const cudaError_t e = run_until(*other, other_seq);
        if (first == cudaSuccess) first = e;
      }
    }
    grant_access(op.devices);
    const cudaError_t e = op.run();
    s.completed = op.seq;
    if (e != cudaSuccess) {
      if (first == cudaSuccess) first = e;
      Device* d = device_at(s.device);
      if (d != nullptr && d->pending_error == cudaSuccess) d->pending_error = e;
    }
  }
  return first;
}

cudaError_t run_all(int device) {
  Device* d = device_at(device);
  cudaError_t first = run_until(*d->legacy, d->legacy->enqueued);
  for (const auto& weak : d->streams) {
    if (StreamPtr s = weak.lock()) {
      const cudaError_t e = run_until(*s, s->enqueued);
      if (first == cudaSuccess) first = e;
    }
  }
  return first;
}

cudaError_t take_pending(int device) {
  Device* d = device_at(device);
  if (d == nullptr) return cudaSuccess;
  const cudaError_t e = d->pending_error;
  d->pending_error = cudaSuccess;
  return e;
}

cudaError_t synchronize_to(StreamState& s, std::uint64_t seq) {
  ++emulator().counters.blocking_waits;
  cudaError_t e = run_until(s, seq);
  const cudaError_t pending = take_pending(s.device);
  if (e == cudaSuccess) e = pending;
  trim_pools(s.device);
  return e;
}

}  // namespace myelin::emu::detail

using namespace myelin::emu::detail;

// ---- streams ------------------------------------------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  ApiLock lock;
  if (stream == nullptr || (flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0) {
    return set_error(cudaErrorInvalidValue);
  }
  if (const cudaError_t old = driver_check()) return set_error(old);
  auto s = std::make_shared<StreamState>();
  s->device = current_device();
  s->non_blocking = (flags & cudaStreamNonBlocking) != 0;
  Emulator& e = emulator();
  device_at(s->device)->streams.push_back(s);
  e.streams[s.get()] = s;
  *stream = reinterpret_cast<cudaStream_t>(s.get());
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  ApiLock lock;
  Emulator& e = emulator();
  auto it = e.streams.find(stream);
  if (it == e.streams.end()) return set_error(cudaErrorInvalidResourceHandle);
  StreamPtr s = it->second;
  // The work already queued still runs (cudaStreamDestroy returns at once and the device
  // finishes it): here, now.
  cudaError_t err = run_until(*s, s->enqueued);
  e.streams.erase(it);
  auto& list = device_at(s->device)->streams;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const std::weak_ptr<StreamState>& w) {
                              const StreamPtr p = w.lock();
                              return !p || p == s;
                            }),
             list.end());
  return set_error(err);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  ApiLock lock;
  if (const cudaError_t c = forbidden_while_capturing("cudaStreamSynchronize")) return set_error(c);
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  return set_error(synchronize_to(*s, s->enqueued));
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  if (s->capture) {
    invalidate_capture(*s->capture, cudaErrorStreamCaptureUnsupported,
                       "cudaStreamQuery of a capturing stream");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  ++emulator().counters.event_queries;
  cudaError_t e = cudaSuccess;
  const bool done = query_progress(*s, s->enqueued, &e);
  const cudaError_t pending = take_pending(s->device);
  if (e == cudaSuccess) e = pending;
  if (e == cudaSuccess && !done) {
    ++emulator().counters.not_ready;
    e = cudaErrorNotReady;  // recorded as the last error too, as the runtime does
  }
  return set_error(e);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return set_error(cudaErrorInvalidResourceHandle);
  Emulator& e = emulator();
  auto it = e.events.find(event);
  if (it == e.events.end() || flags != 0) return set_error(cudaErrorInvalidResourceHandle);
  const EventState& ev = *it->second;
  if (s->capture || ev.captured) {
    // Inside one capture the stream order already holds it; a capture waiting for work outside
    // it, or a fork into another stream, is not something this emulator records.
    if (s->capture && ev.captured == s->capture) return cudaSuccess;
    CaptureState& c = s->capture ? *s->capture : *ev.captured;
    invalidate_capture(c, cudaErrorStreamCaptureIsolation,
                       "cudaStreamWaitEvent across a capture's boundary");
    return set_error(cudaErrorStreamCaptureIsolation);
  }
  if (!ev.stream) return cudaSuccess;  // never recorded: nothing to wait for
  Op op;
  op.deps.emplace_back(ev.stream, ev.seq);
  op.run = [] { return cudaSuccess; };
  enqueue(*s, std::move(op));
  return cudaSuccess;
}

cudaError_t cudaStreamGetFlags(cudaStream_t stream, unsigned int* flags) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s || flags == nullptr) return set_error(cudaErrorInvalidValue);
  *flags = s->non_blocking ? cudaStreamNonBlocking : cudaStreamDefault;
  return cudaSuccess;
}
