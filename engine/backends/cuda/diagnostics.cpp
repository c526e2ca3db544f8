// Training diagnostics on the device: per-unit activation statistics computed by one kernel and
// read back in one copy (a diagnostic step's only wait; other steps never run it).
#include "kernels/diagnostics.hpp"
#include "backends/cuda/cuda_ops.hpp"

namespace myelin::cuda {

std::vector<double> column_statistics(DeviceContext& dc, const Tensor& x, std::int64_t rows,
                                      double low, double high) {
  DeviceGuard guard(dc.device);
  const std::int64_t columns = rows > 0 ? x.numel() / rows : 0;
  std::vector<double> host(static_cast<std::size_t>(4 * columns));
  if (columns == 0) return host;
  double* out = scratch_doubles(dc, 4 * columns);
  MYELIN_LAUNCH(dc,
                kernels::launch_column_statistics(f32(x), rows, columns, static_cast<float>(low),
                                                  static_cast<float>(high), out, dc.stream));
  // To pageable memory: returns once the copy (and the stream's work before it) is done.
  MYELIN_CUDA_CHECK(cudaMemcpyAsync(host.data(), out, host.size() * sizeof(double),
                                    cudaMemcpyDeviceToHost, dc.stream));
  return host;
}

}  // namespace myelin::cuda
