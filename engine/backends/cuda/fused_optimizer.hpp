#pragma once

// The fused optimizer update on CUDA: one launch writing the step's constants, one for the
// global gradient norm and clip scale, one updating every parameter.

#include <functional>
#include <memory>
#include <vector>

#include "backends/backend.hpp"

namespace myelin::cuda {

// Device buffers in the executor's stream order.
using DeviceAllocator = std::function<Tensor(const Shape&, DType)>;

void fused_update(DeviceContext& dc, const DeviceAllocator& allocate,
                  const std::vector<ParamUpdate>& updates, const GradientClipping& clipping,
                  std::shared_ptr<UpdateCache>& cache, UpdatePart part);
// Where the norm of the cache's last update lives in device memory (a double), or null.
const double* fused_norm_device(const UpdateCache* cache);

}  // namespace myelin::cuda
