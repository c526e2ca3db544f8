// The reference GEMM of cuBLAS and cuBLASLt on the emulated device: float32, queued on the stream
// like a library kernel. Each product is a sum over k in eight interleaved partial sums, added
// at the end: a fixed order, different from OpenBLAS's, as cuBLAS's is, so GPU-versus-CPU tests
// see real rounding differences. Operand extents are checked against their allocations when the
// GEMM runs (a wrong leading dimension is a fault naming the operand, not a silent wrong read).
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "gemm.hpp"
#include "internal.hpp"

namespace myelin::emu::detail {

float round_to_tf32(float x) {
  std::uint32_t u = 0;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7F800000u) != 0x7F800000u) {  // finite: round the magnitude at bit 13
    u += 0x1000u;
    u &= ~0x1FFFu;
  } else if ((u & 0x007FFFFFu) != 0) {  // NaN stays NaN
    u |= 0x00400000u;
    u &= ~0x1FFFu;
  }
  std::memcpy(&x, &u, sizeof u);
  return x;
}

namespace {

// Bytes of a column-major rows x cols matrix with leading dimension ld.
std::size_t extent(std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return static_cast<std::size_t>((cols - 1) * ld + rows) * sizeof(float);
}

cudaError_t check_operand(const Gemm& g, const char* name, const void* p, std::int64_t rows,
                          std::int64_t cols, std::int64_t ld, int device) {
  const std::size_t bytes = extent(rows, cols, ld);
  if (bytes == 0) return cudaSuccess;
  const Allocation* a = find_allocation(p, bytes, /*in_stream_order=*/true);
  if (a != nullptr && a->device == device) return cudaSuccess;
  std::ostringstream m;
  m << g.routine << ": operand " << name << " (" << rows << " x " << cols << ", ld " << ld << ", "
    << bytes << " bytes at " << p << ") is not inside one allocation of cuda:" << device;
  return fault(cudaErrorIllegalAddress, m.str());
}

// The sum of a[p] b[p] over p < k in eight interleaved partial sums (lane p mod 8), added
// pairwise at the end; each lane adds its products in order, so the result is the same bits as
// the scalar loop. Not instrumented by the sanitizers: the operands were checked against their
// allocations before, and this loop is most of an emulated training step's time.
__attribute__((no_sanitize("address", "undefined"))) float dot8(const float* a, const float* b,
                                                                std::int64_t k) {
  typedef float Lanes4 __attribute__((vector_size(16)));
  Lanes4 low = {0, 0, 0, 0}, high = {0, 0, 0, 0};
  std::int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    Lanes4 a0, a1, b0, b1;
    std::memcpy(&a0, a + p, sizeof a0);
    std::memcpy(&a1, a + p + 4, sizeof a1);
    std::memcpy(&b0, b + p, sizeof b0);
    std::memcpy(&b1, b + p + 4, sizeof b1);
    low += a0 * b0;
    high += a1 * b1;
  }
  float lanes[8];
  std::memcpy(lanes, &low, sizeof low);
  std::memcpy(lanes + 4, &high, sizeof high);
  for (; p < k; ++p) lanes[p % 8] += a[p] * b[p];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// op(M) of a column-major `rows` x `cols` matrix with leading dimension ld, as `outer` vectors
// of `inner` consecutive floats (rows of op(A), columns of op(B)): the dot products then read
// memory in order. Not instrumented, as dot8.
__attribute__((no_sanitize("address", "undefined"))) void pack(const float* m, std::int64_t ld,
                                                               bool transposed, std::int64_t outer,
                                                               std::int64_t inner, float* out) {
  for (std::int64_t o = 0; o < outer; ++o) {
    for (std::int64_t q = 0; q < inner; ++q) {
      out[o * inner + q] = transposed ? m[q + o * ld] : m[o + q * ld];
    }
  }
}

cudaError_t run_gemm(const Gemm& g, int device) {
  const std::int64_t arows = g.ta ? g.k : g.m, acols = g.ta ? g.m : g.k;
  const std::int64_t brows = g.tb ? g.n : g.k, bcols = g.tb ? g.k : g.n;
  cudaError_t e = check_operand(g, "A", g.a, arows, acols, g.lda, device);
  if (e == cudaSuccess) e = check_operand(g, "B", g.b, brows, bcols, g.ldb, device);
  if (e == cudaSuccess && g.beta != 0.0f) {
    e = check_operand(g, "C", g.c, g.m, g.n, g.ldc, device);
  }
  if (e == cudaSuccess) e = check_operand(g, "D", g.d, g.m, g.n, g.ldd, device);
  if (e == cudaSuccess && g.bias != nullptr &&
      find_allocation(g.bias, g.m * sizeof(float), /*in_stream_order=*/true) == nullptr) {
    e = fault(cudaErrorIllegalAddress,
              std::string(g.routine) + ": the bias vector is not inside one device allocation");
  }
  if (e != cudaSuccess) return e;
  // op(A) by rows and op(B) by columns, contiguous in k.
  std::vector<float> arow(static_cast<std::size_t>(g.m * g.k)),
      bcol(static_cast<std::size_t>(g.n * g.k));
  pack(g.a, g.lda, g.ta, g.m, g.k, arow.data());   // row i of op(A): A(i, p) or A(p, i)
  pack(g.b, g.ldb, !g.tb, g.n, g.k, bcol.data());  // column j of op(B): B(p, j) or B(j, p)
  if (g.tf32) {
    for (float& v : arow) v = round_to_tf32(v);
    for (float& v : bcol) v = round_to_tf32(v);
  }
  for (std::int64_t j = 0; j < g.n; ++j) {
    const float* bj = bcol.data() + j * g.k;
    for (std::int64_t i = 0; i < g.m; ++i) {
      const float dot = dot8(arow.data() + i * g.k, bj, g.k);
      float out = g.alpha * dot;
      if (g.beta != 0.0f) out += g.beta * g.c[i + j * g.ldc];
      if (g.bias != nullptr) out += g.bias[i];
      g.d[i + j * g.ldd] = out;
    }
  }
  return cudaSuccess;
}

}  // namespace

cublasStatus_t queue_gemm(const Gemm& g, int device, cudaStream_t stream) {
  ApiLock lock;
  StreamPtr s = resolve_stream(stream);
  if (!s) return CUBLAS_STATUS_INVALID_VALUE;
  if (s->device != device || current_device() != device) {
    fault(cudaErrorInvalidResourceHandle,
          std::string(g.routine) + ": the handle belongs to cuda:" + std::to_string(device) +
              " but cuda:" + std::to_string(current_device()) + " is current");
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  if (check_implicit_capture_join(*s, g.routine) != cudaSuccess) {
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  // The library checks its own kernel launch with cudaGetLastError, which also takes an error an
  // earlier call left there (one last-error state for the runtime and the libraries).
  if (take_last_error() != cudaSuccess) return CUBLAS_STATUS_EXECUTION_FAILED;
  const LaunchFault* failing = launch_fails(g.routine);
  if (failing != nullptr && !failing->while_running) {
    fault(cudaErrorLaunchOutOfResources,
          std::string(g.routine) + ": the launch fails (a fault set on demand)");
    return CUBLAS_STATUS_EXECUTION_FAILED;
  }
  ++emulator().counters.launches;
  count_work(g.routine);
  Op op;
  op.what = g.routine;
  const std::int64_t arows = g.ta ? g.k : g.m, acols = g.ta ? g.m : g.k;
  const std::int64_t brows = g.tb ? g.n : g.k, bcols = g.tb ? g.k : g.n;
  auto operand = [&op](const void* p, std::size_t bytes, const char* role) {
    if (bytes > 0) op.ranges.push_back(Range{p, bytes, true, false, role});
  };
  operand(g.a, extent(arows, acols, g.lda), "operand A");
  operand(g.b, extent(brows, bcols, g.ldb), "operand B");
  if (g.beta != 0.0f) operand(g.c, extent(g.m, g.n, g.ldc), "operand C");
  operand(g.d, extent(g.m, g.n, g.ldd), "operand D");
  if (g.bias != nullptr) operand(g.bias, static_cast<std::size_t>(g.m) * sizeof(float), "bias");
  op.launches = 1;
  op.devices.push_back(device);
  const bool fail_running = failing != nullptr;
  op.run = [g, device, fail_running]() {
    if (fail_running) {
      return fault(cudaErrorLaunchFailure,
                   std::string(g.routine) + " failed while running (a fault set on demand)");
    }
    return g.m == 0 || g.n == 0 ? cudaSuccess : run_gemm(g, device);
  };
  enqueue(*s, std::move(op));
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace myelin::emu::detail
