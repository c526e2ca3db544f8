#pragma once

// Device code on the emulated device: the CUDA built-ins (threadIdx, blockIdx, blockDim,
// gridDim), block barriers, warp collectives, atomics, intrinsics and the launch helper, for
// kernel sources compiled by the host C++ compiler.
//
// Every thread of a block runs as a fiber on the calling host thread. Between two
// synchronisation points (a barrier, a warp collective) threads run in a random order drawn from
// the schedule seed, and the lanes of a warp are not in lockstep: code that needs a barrier or a
// __syncwarp it does not have reads data in a different state under another seed. Warp
// collectives exchange values among exactly the lanes their mask names, and fail when a lane
// named in the mask does not take part. Shared memory belongs to one block and starts filled
// with 0xff bytes (NaN for float and double), so a read before a write shows.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cuda_runtime_api.h"
#include "myelin_emu/math.hpp"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
// Shared memory is declared through MYELIN_SHARED (kernels/launch.cuh), which gives each block
// its own; a bare __shared__ would be one variable for every block.
#define __shared__ myelin_emulated_kernels_declare_shared_memory_with_MYELIN_SHARED
#define __constant__ myelin_emulated_device_has_no_constant_memory

inline constexpr int warpSize = 32;

namespace myelin::emu {

struct ThreadCoords {
  uint3 thread_idx;
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};

namespace detail {

[[noreturn]] void outside_kernel(const char* what);
// The running thread's coordinates (a call rather than an inline read of a thread_local: GCC 12
// with UBSan miscompiles the null check of an extern thread_local read through its TLS wrapper).
const ThreadCoords& coords(const char* what);

// Block barrier at a source location (threads must all reach the same one).
void block_barrier(const char* file, int line);
// Barrier that also reduces a predicate: 0 count, 1 and, 2 or.
int block_barrier_reduce(const char* file, int line, int predicate, int how);

enum class WarpOp : int {
  kSync,
  kShfl,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kReduceAdd,
  kReduceMin,
  kReduceMax,
  kReduceMinSigned,
  kReduceMaxSigned,
};
// Exchanges `bits` (a value of `size` bytes) among the lanes in `mask`; `arg` is the source
// lane, delta or lane mask of a shuffle. Returns this lane's result.
std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t bits, int size, int arg,
                              int width);
unsigned active_mask();

// Shared memory of the running block: one slot per key (a declaration), and the dynamic part.
void* shared_slot(const void* key, std::size_t bytes, std::size_t align);
void* dynamic_shared();

struct LaunchRequest {
  const char* name;
  dim3 grid;
  dim3 block;
  std::size_t shared_bytes;
  cudaStream_t stream;
  std::vector<const void*> pointer_args;  // raw pointer parameters, checked at execution
  std::function<void()> body;             // runs one thread
};
void enqueue_kernel(LaunchRequest request);

template <typename T>
void collect_pointer(std::vector<const void*>& out, const T& value) {
  if constexpr (std::is_pointer_v<T>) out.push_back(static_cast<const void*>(value));
}

template <typename T>
std::uint64_t to_bits(const T& value) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>,
                "warp collectives exchange values of at most 8 bytes");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  return bits;
}

template <typename T>
T from_bits(std::uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));
  return value;
}

}  // namespace detail

template <typename T>
using shared_t = T;

template <typename T>
T& block_shared(const void* key) {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                "shared memory holds trivial types");
  return *static_cast<T*>(detail::shared_slot(key, sizeof(T), alignof(T)));
}

// Queues `kernel` on `stream` with copies of `args` (as a launch copies its parameters);
// configuration errors are reported by cudaGetLastError, as for a real launch.
template <typename Kernel, typename... Args>
void launch(const char* name, dim3 grid, dim3 block, std::size_t shared_bytes, cudaStream_t stream,
            Kernel kernel, Args&&... args) {
  detail::LaunchRequest request{name, grid, block, shared_bytes, stream, {}, {}};
  (detail::collect_pointer(request.pointer_args, args), ...);
  request.body = [kernel,
                  params = std::make_tuple(std::decay_t<Args>(std::forward<Args>(args))...)]() {
    std::apply(kernel, params);
  };
  detail::enqueue_kernel(std::move(request));
}

}  // namespace myelin::emu

#define threadIdx (::myelin::emu::detail::coords("threadIdx").thread_idx)
#define blockIdx (::myelin::emu::detail::coords("blockIdx").block_idx)
#define blockDim (::myelin::emu::detail::coords("blockDim").block_dim)
#define gridDim (::myelin::emu::detail::coords("gridDim").grid_dim)

#define __syncthreads() ::myelin::emu::detail::block_barrier(__FILE__, __LINE__)
#define __syncthreads_count(p) \
  ::myelin::emu::detail::block_barrier_reduce(__FILE__, __LINE__, (p) ? 1 : 0, 0)
#define __syncthreads_and(p) \
  ::myelin::emu::detail::block_barrier_reduce(__FILE__, __LINE__, (p) ? 1 : 0, 1)
#define __syncthreads_or(p) \
  ::myelin::emu::detail::block_barrier_reduce(__FILE__, __LINE__, (p) ? 1 : 0, 2)

// Warp collectives.
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::myelin::emu::detail::warp_collective(::myelin::emu::detail::WarpOp::kSync, mask, 0, 0, 0, 32);
}
inline unsigned __activemask() {
  return ::myelin::emu::detail::active_mask();
}

template <typename T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {
  using namespace ::myelin::emu::detail;
  return from_bits<T>(
      warp_collective(WarpOp::kShfl, mask, to_bits(var), sizeof(T), src_lane, width));
}
template <typename T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  using namespace ::myelin::emu::detail;
  return from_bits<T>(warp_collective(WarpOp::kShflUp, mask, to_bits(var), sizeof(T),
                                      static_cast<int>(delta), width));
}
template <typename T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  using namespace ::myelin::emu::detail;
  return from_bits<T>(warp_collective(WarpOp::kShflDown, mask, to_bits(var), sizeof(T),
                                      static_cast<int>(delta), width));
}
template <typename T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {
  using namespace ::myelin::emu::detail;
  return from_bits<T>(
      warp_collective(WarpOp::kShflXor, mask, to_bits(var), sizeof(T), lane_mask, width));
}
inline unsigned __ballot_sync(unsigned mask, int predicate) {
  using namespace ::myelin::emu::detail;
  return static_cast<unsigned>(
      warp_collective(WarpOp::kBallot, mask, predicate != 0 ? 1 : 0, 4, 0, 32));
}
inline int __any_sync(unsigned mask, int predicate) {
  using namespace ::myelin::emu::detail;
  return static_cast<int>(warp_collective(WarpOp::kAny, mask, predicate != 0 ? 1 : 0, 4, 0, 32));
}
inline int __all_sync(unsigned mask, int predicate) {
  using namespace ::myelin::emu::detail;
  return static_cast<int>(warp_collective(WarpOp::kAll, mask, predicate != 0 ? 1 : 0, 4, 0, 32));
}
inline unsigned __reduce_add_sync(unsigned mask, unsigned value) {
  using namespace ::myelin::emu::detail;
  return static_cast<unsigned>(warp_collective(WarpOp::kReduceAdd, mask, value, 4, 0, 32));
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned value) {
  using namespace ::myelin::emu::detail;
  return static_cast<unsigned>(warp_collective(WarpOp::kReduceMin, mask, value, 4, 0, 32));
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned value) {
  using namespace ::myelin::emu::detail;
  return static_cast<unsigned>(warp_collective(WarpOp::kReduceMax, mask, value, 4, 0, 32));
}
inline int __reduce_add_sync(unsigned mask, int value) {
  return static_cast<int>(__reduce_add_sync(mask, static_cast<unsigned>(value)));
}
inline int __reduce_min_sync(unsigned mask, int value) {
  using namespace ::myelin::emu::detail;
  return static_cast<int>(
      warp_collective(WarpOp::kReduceMinSigned, mask, static_cast<std::uint32_t>(value), 4, 0, 32));
}
inline int __reduce_max_sync(unsigned mask, int value) {
  using namespace ::myelin::emu::detail;
  return static_cast<int>(
      warp_collective(WarpOp::kReduceMaxSigned, mask, static_cast<std::uint32_t>(value), 4, 0, 32));
}

// Memory fences: threads of the emulated device share one sequentially consistent memory.
inline void __threadfence() {}
inline void __threadfence_block() {}
inline void __threadfence_system() {}

// Atomics. Threads of a block switch only at synchronisation points, and blocks run one at a
// time, so a read-modify-write here is indivisible.
template <typename T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <typename T>
T atomicSub(T* address, T value) {
  const T old = *address;
  *address = old - value;
  return old;
}
template <typename T>
T atomicExch(T* address, T value) {
  const T old = *address;
  *address = value;
  return old;
}
template <typename T>
T atomicMin(T* address, T value) {
  const T old = *address;
  *address = value < old ? value : old;
  return old;
}
template <typename T>
T atomicMax(T* address, T value) {
  const T old = *address;
  *address = value > old ? value : old;
  return old;
}
template <typename T>
T atomicCAS(T* address, T compare, T value) {
  const T old = *address;
  if (old == compare) *address = value;
  return old;
}
template <typename T>
T atomicAnd(T* address, T value) {
  const T old = *address;
  *address = old & value;
  return old;
}
template <typename T>
T atomicOr(T* address, T value) {
  const T old = *address;
  *address = old | value;
  return old;
}
template <typename T>
T atomicXor(T* address, T value) {
  const T old = *address;
  *address = old ^ value;
  return old;
}
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  const unsigned old = *address;
  *address = old >= limit ? 0u : old + 1u;
  return old;
}

// Integer and bit intrinsics (exact on the device too).
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline int __mulhi(int a, int b) {
  return static_cast<int>((static_cast<long long>(a) * b) >> 32);
}
inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
  return __builtin_popcountll(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}
inline int __float_as_int(float x) {
  int i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
inline unsigned __float_as_uint(float x) {
  unsigned i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
template <typename T>
T __ldg(const T* p) {
  return *p;
}

// Floating-point intrinsics: the correctly rounded ones are exact, the fast ones are perturbed
// within their documented error (myelin_emu/math.hpp).
inline float __fadd_rn(float a, float b) {
  return a + b;
}
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fdiv_rn(float a, float b) {
  return a / b;
}
inline float __fmaf_rn(float a, float b, float c) {
  return __builtin_fmaf(a, b, c);
}
inline float __frcp_rn(float a) {
  return 1.0f / a;
}
inline float __fsqrt_rn(float a) {
  return __builtin_sqrtf(a);
}
inline float __saturatef(float x) {
  return x != x ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x));
}
inline float __expf(float x) {
  return ::myelin::emu::math::fast_expf(x);
}
inline float __logf(float x) {
  return ::myelin::emu::math::fast_logf(x);
}
inline float __fdividef(float x, float y) {
  return ::myelin::emu::math::fast_fdividef(x, y);
}
inline float __tanhf(float x) {
  return ::myelin::emu::math::fast_tanhf(x);
}
inline float __sinf(float x) {
  return ::myelin::emu::math::fast_sinf(x);
}
inline float __cosf(float x) {
  return ::myelin::emu::math::fast_cosf(x);
}
inline float __powf(float x, float y) {
  return ::myelin::emu::math::fast_powf(x, y);
}
inline float rsqrtf(float x) {
  return ::myelin::emu::math::rsqrtf(x);
}
inline double rsqrt(double x) {
  return ::myelin::emu::math::rsqrt(x);
}
