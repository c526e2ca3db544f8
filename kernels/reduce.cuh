#pragma once

// Two-stage deterministic reductions, templated on the summed term so that each kernel family
// instantiates what it needs. Partial sums are kept in double.
//
// Work mapping:
//  - flat sums: block b sums elements [b * chunk, (b + 1) * chunk) (threads strided over the
//    chunk, then the block tree) into partials[b]; one block then adds the partials in order.
//  - column sums of [rows, cols] (bias gradients, batch norm over [N, F]): blocks of 32 columns
//    x 8 row lanes, so a warp reads 32 consecutive floats of a row (coalesced); blockIdx.y walks
//    chunks of rows; lanes are added in order, then the chunks by a second kernel.
//  - channel sums of [outer, C, inner] with inner > 1 (batch norm over [N, C, H, W]): block
//    (channel, outer chunk), threads strided over the chunk's (n, h, w) elements.
// The chunking depends on the sizes only: the same problem adds in the same order on any GPU.

#include "common.cuh"

namespace myelin::kernels {

template <typename Term>
__global__ void flat_partials_kernel(Term term, std::int64_t n, std::int64_t chunk,
                                     double* __restrict__ partials) {
  MYELIN_SHARED(double[32], shared);
  const std::int64_t begin = static_cast<std::int64_t>(blockIdx.x) * chunk;
  const std::int64_t end = begin + chunk < n ? begin + chunk : n;
  double s = 0.0;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) s += term(i);
  const double total = block_sum(s, shared);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

// out[k] = scale * sum over c < chunks of partials[c * width + k], for k < width, in order of c.
// (A template so that every translation unit may instantiate it without a duplicate symbol.)
template <typename Real>
__global__ void finish_partials_kernel(const Real* __restrict__ partials, std::int64_t chunks,
                                       std::int64_t width, Real scale, Real* __restrict__ out) {
  for (std::int64_t k = global_thread(); k < width; k += grid_stride()) {
    Real s = 0;
    for (std::int64_t c = 0; c < chunks; ++c) s += partials[c * width + k];
    out[k] = s * scale;
  }
}

template <typename Term>
__global__ void column_partials_kernel(Term term, std::int64_t rows, std::int64_t cols,
                                       std::int64_t chunk_rows, double* __restrict__ partials) {
  MYELIN_SHARED(double[8][kWarpSize + 1], lanes);
  const std::int64_t col = static_cast<std::int64_t>(blockIdx.x) * kWarpSize + threadIdx.x;
  const std::int64_t r0 = static_cast<std::int64_t>(blockIdx.y) * chunk_rows;
  const std::int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  double s = 0.0;
  if (col < cols) {
    for (std::int64_t r = r0 + threadIdx.y; r < r1; r += blockDim.y) s += term(r * cols + col);
  }
  lanes[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    double t = 0.0;
    for (unsigned k = 0; k < blockDim.y; ++k) t += lanes[k][threadIdx.x];
    partials[static_cast<std::int64_t>(blockIdx.y) * cols + col] = t;
  }
}

template <typename Term>
__global__ void channel_partials_kernel(Term term, std::int64_t outer, std::int64_t channels,
                                        std::int64_t inner, std::int64_t chunk_outer,
                                        double* __restrict__ partials) {
  MYELIN_SHARED(double[32], shared);
  const std::int64_t c = blockIdx.x;
  const std::int64_t o0 = static_cast<std::int64_t>(blockIdx.y) * chunk_outer;
  const std::int64_t o1 = o0 + chunk_outer < outer ? o0 + chunk_outer : outer;
  const std::int64_t count = (o1 - o0) * inner;
  double s = 0.0;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const std::int64_t o = o0 + j / inner;
    s += term((o * channels + c) * inner + j % inner);
  }
  const double total = block_sum(s, shared);
  if (threadIdx.x == 0) partials[static_cast<std::int64_t>(blockIdx.y) * channels + c] = total;
}

// Host side: out[c] = scale * sum of `term` over channel c of [outer, channels, inner], with
// the geometry of launch::channel_reduce (columns, chunk, chunks). `partials` holds chunks *
// channels doubles.
template <typename Term>
cudaError_t launch_channel_sums(Term term, std::int64_t outer, std::int64_t channels,
                                std::int64_t inner, bool columns, std::int64_t chunk,
                                std::int64_t chunks, double scale, double* partials, double* out,
                                cudaStream_t stream) {
  if (channels == 0) return cudaGetLastError();
  if (columns) {
    const dim3 grid(static_cast<unsigned>((channels + kWarpSize - 1) / kWarpSize),
                    static_cast<unsigned>(chunks));
    MYELIN_LAUNCH_KERNEL(column_partials_kernel, grid, dim3(kWarpSize, 8), 0, stream, term, outer,
                         channels, chunk, partials);
  } else {
    const dim3 grid(static_cast<unsigned>(channels), static_cast<unsigned>(chunks));
    MYELIN_LAUNCH_KERNEL(channel_partials_kernel, grid, 256, 0, stream, term, outer, channels,
                         inner, chunk, partials);
  }
  const std::int64_t blocks = (channels + 255) / 256;
  MYELIN_LAUNCH_KERNEL(finish_partials_kernel, static_cast<unsigned>(blocks < 1024 ? blocks : 1024),
                       256, 0, stream, partials, chunks, channels, scale, out);
  return cudaGetLastError();
}

// Host side: out[0] = scale * sum of term(i), i < n, in chunks of `chunk` (launch::reduce).
// `partials` holds `chunks` doubles.
template <typename Term>
cudaError_t launch_flat_sum(Term term, std::int64_t n, std::int64_t chunk, std::int64_t chunks,
                            double scale, double* partials, double* out, cudaStream_t stream) {
  MYELIN_LAUNCH_KERNEL(flat_partials_kernel, static_cast<unsigned>(chunks), 256, 0, stream, term, n,
                       chunk, partials);
  MYELIN_LAUNCH_KERNEL(finish_partials_kernel, 1, 32, 0, stream, partials, chunks, 1, scale, out);
  return cudaGetLastError();
}

}  // namespace myelin::kernels
